// The ZIP reader and the inflater on arbitrary bytes: the input as an archive, and as a raw
// DEFLATE stream (most inputs are no archive, and the inflater should see them all).
import FuzzDriver
@testable import MailWardenReports

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZIP(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    _ = ZIPArchive.entries(bytes, budget: DecodeBudget())
    var inflater = Inflater(bytes[...], limit: 1 << 20)
    _ = inflater.run()
    return 0
}

mailwarden_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv)
