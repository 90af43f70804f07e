// The MIME tree and its sorting into texts, files and attached messages, on arbitrary bytes.
import FuzzDriver
@testable import MailWardenReports

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMIME(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    _ = ReportMessage(MIMEPart.parse(bytes[...], budget: DecodeBudget())).texts
    return 0
}

mailwarden_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv)
