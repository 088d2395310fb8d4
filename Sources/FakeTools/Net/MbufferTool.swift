import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The fake `mbuffer`: copies stdin/`-i`/`-I` to stdout/`-o`/`-O` over real loopback TCP (every host
/// name maps to 127.0.0.1), with mbuffer's status lines, summary, messages and exit codes.
///
/// Fault rules (`"tool":"mbuffer"`, `host` matches `ZFAKE_HOST`):
/// - `refused`: `-O` fails as if nothing listened (real message text), exit 1.
/// - `port-in-use`: `-I` fails as if the port were taken, exit 1.
/// - `drop` with `"bytes":"N"`: after N bytes the connection is reset (RST); this side reports the reset
///   and exits 1, and so does a real or fake peer.
enum MbufferTool {
    static func main(_ arguments: [String]) -> Int32 {
        let world = FakeWorld.fromEnvironment()
        let invocation = NetCall(world: world, tool: "mbuffer", arguments: arguments)
        let options: MbufferOptions
        switch MbufferOptions.parse(arguments) {
        case .success(let parsed): options = parsed
        case .failure(.fatal(let text)):
            NetIO.stderr("mbuffer: fatal: \(text)\n")
            return invocation.finish(1)
        }
        if options.showVersion {
            NetIO.stderr(versionText)
            return invocation.finish(0)
        }
        if options.showHelp {
            NetIO.stderr("usage: mbuffer [Options]\n")
            return invocation.finish(0)
        }
        var faults = Faults.firing(in: world, tool: "mbuffer", subcommand: nil, arguments: arguments)
        if let unknown = faults.first(where: { !["refused", "port-in-use", "drop"].contains($0.effect) }) {
            NetIO.stderr("zfake mbuffer: unknown fault effect '\(unknown.effect)'\n")
            return invocation.finish(70)
        }
        if options.listen == nil { faults.removeAll { $0.effect == "port-in-use" } }
        if options.connect.isEmpty { faults.removeAll { $0.effect == "refused" } }
        let transfer = MbufferTransfer(options: options, faults: faults)
        return invocation.finish(transfer.run())
    }

    static let versionText = """
        mbuffer version R20230301
        Copyright 2001-2023 - T. Maier-Komor
        License: GPLv3 - see the LICENSE file
        This program comes with ABSOLUTELY NO WARRANTY!!!
        Donations via PayPal to thomas@maier-komor.de are welcome and support this work!

        """
}

/// One mbuffer run: open the input and outputs, copy, report.
struct MbufferTransfer {
    let options: MbufferOptions
    let faults: [FaultRule]
    let reporter: MbufferReporter

    init(options: MbufferOptions, faults: [FaultRule]) {
        self.options = options
        self.faults = faults
        self.reporter = MbufferReporter(options: options)
    }

    /// An output: its descriptor and the name mbuffer uses for it in messages.
    struct Output {
        var fd: Int32
        var name: String
        var isSocket: Bool
    }

    func run() -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        // Input side first: the listener is bound (and visible in /proc/net/tcp) before anything else.
        var listener: Int32?
        if let listen = options.listen {
            if faults.contains(where: { $0.effect == "port-in-use" }) {
                reportBindFailure(port: listen.port, error: EADDRINUSE)
                return 1
            }
            switch Loopback.listen(port: listen.port) {
            case .success(let fd): listener = fd
            case .failure(let error):
                reportBindFailure(port: listen.port, error: error.code)
                return 1
            }
        }
        var outputs: [Output] = []
        for target in options.connect {
            let result = faults.contains(where: { $0.effect == "refused" })
                ? .failure(Loopback.Failure(code: ECONNREFUSED)) : Loopback.connect(port: target.port)
            switch result {
            case .success(let fd): outputs.append(Output(fd: fd, name: "\(target.host):\(target.port)", isSocket: true))
            case .failure(let error):
                reporter.message(.warning, "error connecting to tcp/1.0.0.127:\(target.port): \(NetIO.errorText(error.code))")
                reporter.message(.error, "unable to connect to \(target.host):\(target.port)")
            }
        }
        if !options.outputFiles.isEmpty && !options.hasAutoloader && open("/dev/tty", O_RDONLY) < 0 {
            reporter.message(.warning, "No controlling terminal and no autoloader command specified.")
        }
        for file in options.outputFiles {
            if file == "-" {
                outputs.append(Output(fd: 1, name: "<stdout>", isSocket: false))
                continue
            }
            let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else {
                reporter.message(.error, "could not open \(file) for writing: \(NetIO.errorText(errno))")
                continue
            }
            outputs.append(Output(fd: fd, name: file, isSocket: false))
        }
        if options.connect.isEmpty && options.outputFiles.isEmpty {
            outputs.append(Output(fd: 1, name: "<stdout>", isSocket: false))
        }
        if outputs.isEmpty {
            reporter.message(.fatal, "no output left - nothing to do")
            return 1
        }
        var input: Int32 = 0
        if let listener {
            let accepted = Loopback.accept(listener)
            close(listener)
            guard accepted >= 0 else {
                reporter.message(.fatal, "unable to accept: \(NetIO.errorText(errno))")
                return 1
            }
            input = accepted
        } else if let file = options.inputFile, file != "-" {
            input = open(file, O_RDONLY)
            guard input >= 0 else {
                reporter.message(.fatal, "could not open input file \(file): \(NetIO.errorText(errno))")
                return 1
            }
        }
        return copyAndReport(input: input, outputs: outputs)
    }

    private func reportBindFailure(port: UInt16, error: Int32) {
        let text = NetIO.errorText(error)
        reporter.message(.warning, "could not bind to socket for tcp/0.0.0.0:\(port): \(text)")
        reporter.message(.warning, "could not bind to socket for tcp/[0:0:0:0:0:0:0:0]:\(port): \(text)")
        reporter.message(.fatal, "Unable to initialize network input.")
    }

    private func copyAndReport(input: Int32, outputs: [Output]) -> Int32 {
        let dropAfter = faults.first(where: { $0.effect == "drop" }).map { $0.intParameter("bytes") ?? 0 }
        let rates = [options.readRate, options.writeRate].compactMap { $0 }.filter { $0 > 0 }
        let progress = TransferProgress()
        let monitor = StatusMonitor(progress: progress, reporter: reporter, watchdog: options.watchdog)
        monitor.start()
        let outcome = StreamCopier(
            input: input, outputs: outputs.map(\.fd), limit: dropAfter, rate: rates.min(),
            blockSize: options.blockSize, progress: progress,
            // The listener writes the stream into zfs receive as the real mbuffer does, with write(2):
            // its /proc/<pid>/io counts every byte (zettabee's exact transfer size).
            splices: options.listen == nil
        ).copy()
        monitor.stop()
        let total = progress.bytes
        let seconds = NetIO.now() - progress.started
        let networkInput = options.listen != nil
        switch outcome {
        case .finished:
            reporter.summary(MbufferFormat.summary(totalBytes: total, seconds: seconds))
            for output in outputs where output.fd != 1 { close(output.fd) }
            return 0
        case .limitReached:
            // The drop fault: reset whichever connection this side has, report it like a reset.
            if networkInput { Loopback.reset(input) }
            for output in outputs where output.isSocket { Loopback.reset(output.fd) }
            if networkInput {
                reportReadError(offset: total, error: ECONNRESET, total: total, seconds: seconds)
            } else if let socket = outputs.first(where: \.isSocket) {
                reportWriteError(name: socket.name, offset: total, error: ECONNRESET, seconds: seconds)
            }
            return 1
        case .readError(let error):
            reportReadError(offset: total, error: error, total: total, seconds: seconds)
            return 1
        case .writeError(let index, let error):
            reportWriteError(name: outputs[index].name, offset: total, error: error, seconds: seconds)
            return 1
        }
    }

    private func reportReadError(offset: Int, error: Int32, total: Int, seconds: Double) {
        reporter.message(.error, "inputThread: error reading at offset 0x\(String(offset, radix: 16)): \(NetIO.errorText(error))")
        reporter.summary(MbufferFormat.summary(totalBytes: total, seconds: seconds))
    }

    /// After an output error the real mbuffer's summary counts nothing; the fake does the same.
    private func reportWriteError(name: String, offset: Int, error: Int32, seconds: Double) {
        let text = NetIO.errorText(error)
        reporter.message(.error, "outputThread: error writing to \(name) at offset 0x\(String(offset, radix: 16)): \(text)")
        reporter.message(.warning, "error during output to \(name): \(text)")
        reporter.summary(MbufferFormat.summary(totalBytes: 0, seconds: seconds))
    }
}
