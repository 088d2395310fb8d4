import CommandGraph
import Foundation
import XCTest

final class ShellQuotingTests: XCTestCase {
    func testQuotingTable() {
        let table: [(word: String, quoted: String)] = [
            ("zfs", "zfs"),
            ("tank/home@2024-01-01", "tank/home@2024-01-01"),
            ("-r", "-r"),
            ("--", "--"),
            ("a=b,c:d%e+f.g_h", "a=b,c:d%e+f.g_h"),
            ("", "''"),
            ("two words", "'two words'"),
            ("it's", "'it'\\''s'"),
            ("'", "''\\'''"),
            ("$HOME", "'$HOME'"),
            ("`id`", "'`id`'"),
            ("$(id)", "'$(id)'"),
            ("a;b", "'a;b'"),
            ("a|b", "'a|b'"),
            ("a&b", "'a&b'"),
            ("line\nbreak", "'line\nbreak'"),
            ("tab\there", "'tab\there'"),
            ("back\\slash", "'back\\slash'"),
            ("\"double\"", "'\"double\"'"),
            ("*", "'*'"),
            ("~root", "'~root'"),
            ("héllo", "'héllo'"),
            ("日本", "'日本'"),
            ("-o BatchMode=yes", "'-o BatchMode=yes'"),
        ]
        for (word, quoted) in table {
            XCTAssertEqual(ShellQuoting.quote(word), quoted, "quoting \(word.debugDescription)")
        }
    }

    func testJoinQuotesEachWordAndKeepsEmptyWords() {
        XCTAssertEqual(ShellQuoting.join(["zfs", "get", "", "a b"]), "zfs get '' 'a b'")
        XCTAssertEqual(ShellQuoting.join([]), "")
    }

    /// Random words, quoted and joined, run through one real `/bin/sh -c 'printf "%s\0" …'` per
    /// batch: the shell must hand back exactly the words, byte for byte.
    func testQuotedWordsRoundTripThroughARealShell() throws {
        var generator = SplitMix64(seed: 0x5EED_2B)
        let alphabet: [String] = [
            "a", "Z", "0", "9", "_", "-", ".", "/", "@", "%", "+", "=", ":", ",", " ", "  ", "'", "''", "\"",
            "$", "$HOME", "${x}", "`", "\\", "\\'", "\n", "\t", "\r", ";", "&", "|", "<", ">", "(", ")", "{",
            "}", "[", "]", "*", "?", "!", "#", "~", "^", "é", "ß", "日本", "🙂", "\u{7f}", "\u{1}",
        ]
        let batches = 8
        let wordsPerBatch = 500
        for _ in 0..<batches {
            var words: [String] = []
            for _ in 0..<wordsPerBatch {
                let length = Int(generator.next() % 12)
                var word = ""
                for _ in 0..<length { word += alphabet[Int(generator.next() % UInt64(alphabet.count))] }
                words.append(word)
            }
            let script = "printf '%s\\0' " + ShellQuoting.join(words)
            let output = try runShell(script, timeout: 20)
            var expected: [UInt8] = []
            for word in words { expected += Array(word.utf8) + [0] }
            if output != expected {
                let got = output.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
                for (index, word) in words.enumerated() where index >= got.count || got[index] != word {
                    XCTFail("word \(index) \(word.debugDescription) came back as \(index < got.count ? got[index].debugDescription : "nothing")")
                    break
                }
                XCTFail("shell output differs from the words")
                return
            }
        }
    }

    /// Runs `/bin/sh -c script` and returns its stdout; fails the test on a non-zero exit or timeout.
    private func runShell(_ script: String, timeout: Double) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        let reader = OutputReader(stdout.fileHandleForReading)
        try process.run()
        reader.start()
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            XCTFail("/bin/sh did not finish within \(timeout) seconds")
            return []
        }
        guard let data = reader.wait(timeout: timeout) else {
            XCTFail("stdout of /bin/sh never ended")
            return []
        }
        XCTAssertEqual(process.terminationStatus, 0, "/bin/sh failed")
        return Array(data)
    }
}

/// Reads a pipe to its end on a thread of its own, so a full pipe never blocks the child.
private final class OutputReader: @unchecked Sendable {
    private let handle: FileHandle
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()

    init(_ handle: FileHandle) { self.handle = handle }

    func start() {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait(timeout: Double) -> Data? {
        done.wait(timeout: .now() + timeout) == .success ? data : nil
    }
}

/// A small seeded generator, so a failing word list can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
