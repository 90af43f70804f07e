// The config parser on arbitrary text: every input is a config or a list of file:line problems.
import FuzzDriver
import MailWardenCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
    if let config = try? Config.parse(text: text, file: "fuzz.conf") {
        _ = config.examinedHeaders
    }
    return 0
}

mailwarden_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv)
