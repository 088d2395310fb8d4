import Foundation

/// `zfake TOOL ARGS…`: the fake tools behind the shims in `fixtures/fakebin/`. Each shim execs
/// `zfake <its name> "$@"`; `zfake ctl …` is the control command tests use to set up the world.
let arguments = Array(CommandLine.arguments.dropFirst())
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
