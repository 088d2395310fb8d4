/// The fake `ssh`. (Stub.)
enum SSHTool { static func main(_ arguments: [String]) -> Int32 { 70 } }
/// The fake `mbuffer`. (Stub.)
enum MbufferTool { static func main(_ arguments: [String]) -> Int32 { 70 } }
/// The fake `send_nsca`. (Stub.)
enum SendNscaTool { static func main(_ arguments: [String]) -> Int32 { 70 } }
