import Foundation

/// `zfake TOOL ARGS…`: the fake tools behind the shims in `fixtures/fakebin/`. Each shim execs
/// `zfake <its name> "$@"`; `zfake ctl …` is the control command tests use to set up the world.
/// Started through a link named after a tool (`zfs -> zfake`, `zfake-ctl -> zfake`), zfake is that
/// tool, with no shell in between (the benchmarks use such links).
let linkedTools = ["zfs": "zfs", "zpool": "zpool", "ssh": "ssh", "mbuffer": "mbuffer", "send_nsca": "send_nsca", "zfake-ctl": "ctl"]
let invokedAs = String(CommandLine.arguments[0].split(separator: "/").last ?? "")
let arguments = linkedTools[invokedAs].map { [$0] + CommandLine.arguments.dropFirst() } ?? Array(CommandLine.arguments.dropFirst())
guard let tool = arguments.first else {
    FileHandle.standardError.write(Data("usage: zfake zfs|zpool|ssh|mbuffer|send_nsca|ctl ARGS...\n".utf8))
    exit(2)
}
let toolArguments = Array(arguments.dropFirst())
let status: Int32
switch tool {
case "zfs": status = ZFSTool.main(toolArguments)
case "zpool": status = ZpoolTool.main(toolArguments)
case "ctl": status = ControlTool.main(toolArguments)
case "ssh": status = SSHTool.main(toolArguments)
case "mbuffer": status = MbufferTool.main(toolArguments)
case "send_nsca": status = SendNscaTool.main(toolArguments)
default:
    FileHandle.standardError.write(Data("zfake: unknown tool '\(tool)'\n".utf8))
    status = 2
}
exit(status)
