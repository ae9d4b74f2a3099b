// swift-tools-version: 6.2
import PackageDescription

// Modules follow the pipeline: input -> framing -> translator -> output.
// The agent executable links no server stack.
// The parse → map → emit path crosses modules on every record: let the optimizer
// inline across them in release builds (measured: ~12% fewer CPU-seconds).
// Release builds also drop the run-time exclusivity checks (the compile-time ones stay):
// they cost a runtime call per access to a class's stored property in the record loop.
let hotPath: [SwiftSetting] = [
    .unsafeFlags(["-cross-module-optimization", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "mozdef-ship",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mozdef-ship", targets: ["mozdef-ship"]),
        .executable(name: "mozdef-receiver", targets: ["mozdef-receiver"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The receiver's HTTP server (SwiftNIO's HTTP/1.1); mozdef-ship does not link it.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // C libraries from Debian's -dev packages, with typed shims for variadics and macros.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CRabbitMQ", pkgConfig: "librabbitmq",
                       providers: [.apt(["librabbitmq-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        // PostgreSQL's own client library, for the receiver's shared store.
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),

        // Byte-scanning kernels (SSE2) for the hot path, where Swift SIMD codegen is poor.
        // DWARF 4 so the valgrind on Debian 12 (3.19) can profile the binary.
        .target(name: "CFastPath", cSettings: [.unsafeFlags(["-gdwarf-4"])]),
        // Signal flags and inotify for the tailer (what Swift cannot express safely).
        .target(name: "CMdsSystem", cSettings: [.unsafeFlags(["-gdwarf-4"])]),
        .target(name: "MozDefEvent", dependencies: ["CFastPath"], swiftSettings: hotPath),
        .target(name: "Translators", dependencies: ["MozDefEvent", "CFastPath"], swiftSettings: hotPath),
        .target(name: "Inputs", dependencies: ["MozDefEvent", "CZlib", "CFastPath", "CMdsSystem"], swiftSettings: hotPath),
        .target(name: "Outputs", dependencies: ["MozDefEvent", "CCurl", "CRabbitMQ", "CZlib", "CFastPath"], swiftSettings: hotPath),
        .target(name: "Pipeline", dependencies: ["MozDefEvent", "Translators", "Inputs", "Outputs", "CMdsSystem"], swiftSettings: hotPath),
        .executableTarget(name: "mozdef-ship", dependencies: [
            "Pipeline",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: hotPath),

        // The bundled server: normalization, store and routes in Receiver, HTTP in the executable.
        .target(name: "Receiver", dependencies: ["MozDefEvent", "Outputs", "CRabbitMQ", "CSQLite", "CPostgres"]),
        .executableTarget(name: "mozdef-receiver", dependencies: [
            "Receiver", "MozDefEvent", "Outputs",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Every parser under libFuzzer (`make fuzz`); built normally, it replays saved inputs.
        .executableTarget(name: "mozdef-fuzz", dependencies: ["MozDefEvent", "Translators", "Inputs", "Receiver"]),

        // Shared by the test targets: the conformance corpus and temporary directories.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "MozDefEventTests", dependencies: ["MozDefEvent", "TestSupport"]),
        .testTarget(name: "TranslatorsTests", dependencies: ["Translators", "MozDefEvent", "Inputs", "TestSupport"]),
        .testTarget(name: "InputsTests", dependencies: ["Inputs", "CZlib", "TestSupport"]),
        .testTarget(name: "OutputsTests", dependencies: ["Outputs", "MozDefEvent", "CCurl", "CRabbitMQ"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "MozDefEvent", "TestSupport", "CRabbitMQ"]),
        .testTarget(name: "ReceiverTests", dependencies: ["Receiver", "MozDefEvent", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
