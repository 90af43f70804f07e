// The whole report parser on arbitrary bytes: it must return a report for every input.
import FuzzDriver
import MailWardenReports

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReportParser(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    _ = ReportParser.parse(Array(UnsafeBufferPointer(start: start, count: count)))
    return 0
}

mailwarden_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv)
