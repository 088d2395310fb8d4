// swift-tools-version:6.0
import PackageDescription

/// zettabee has no package dependencies: only what the Swift toolchain ships. It runs on Linux (it
/// reads /proc and uses Glibc), so no other platform is declared.
let package = Package(
    name: "zettabee",
    products: [
        .executable(name: "zettabee", targets: ["zettabee"]),
        .executable(name: "zfake", targets: ["FakeTools"]),
    ],
    targets: [
        // Pure: the typed command graph, shell quoting, lowering to argv, dry-run rendering.
        .target(name: "CommandGraph"),
        // The only code that spawns processes or touches signals.
        .target(name: "GraphRunner", dependencies: ["CommandGraph"]),
        // The domain: config, pairs, zfs vocabulary and parsers, replication planning, state.
        .target(name: "Zettabee", dependencies: ["CommandGraph", "GraphRunner"]),
        // Argument parsing, actions, output formats, exit codes.
        .target(name: "ZettabeeCLI", dependencies: ["Zettabee", "CommandGraph", "GraphRunner"]),
        .executableTarget(name: "zettabee", dependencies: ["ZettabeeCLI"]),
        // Runs one command through GraphRunner, so tests can signal a real run.
        .executableTarget(name: "GraphRunnerProbe", dependencies: ["GraphRunner", "CommandGraph"]),
        // The fake zfs/zpool/ssh/mbuffer/send_nsca behind fixtures/fakebin. An independent model of
        // the real tools: it shares no code with zettabee. Always optimised, because throughput
        // tests push gigabytes through it. Linked with the Swift libraries built in and not
        // position-independent, because the tests start it thousands of times: a start takes 6 ms
        // instead of 13 ms here (no Swift shared libraries to load, no relocations). Not a fully static
        // executable: that starts in 5 ms, but cannot look up `splice` at run time, and the fake's
        // pipes then move data at a quarter of the speed.
        .executableTarget(
            name: "FakeTools",
            swiftSettings: [.unsafeFlags(["-O", "-static-stdlib"])],
            linkerSettings: [.unsafeFlags(["-static-stdlib", "-Xclang-linker", "-no-pie"])]
        ),

        .testTarget(name: "CommandGraphTests", dependencies: ["CommandGraph"]),
        .testTarget(name: "GraphRunnerTests", dependencies: ["GraphRunner", "CommandGraph"]),
        .testTarget(name: "ZettabeeTests", dependencies: ["Zettabee", "CommandGraph", "GraphRunner"]),
        .testTarget(
            name: "ZettabeeCLITests",
            dependencies: ["ZettabeeCLI", "Zettabee", "CommandGraph", "GraphRunner"]
        ),
        .testTarget(name: "FakeToolsTests", dependencies: ["GraphRunner"]),
    ]
)
