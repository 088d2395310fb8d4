/// The fake `zfs`. (Stub.)
enum ZFSTool { static func main(_ arguments: [String]) -> Int32 { 70 } }
/// The fake `zpool`. (Stub.)
enum ZpoolTool { static func main(_ arguments: [String]) -> Int32 { 70 } }
/// `zfake ctl`: pools, datasets, writes, faults. (Stub.)
enum ControlTool { static func main(_ arguments: [String]) -> Int32 { 70 } }
