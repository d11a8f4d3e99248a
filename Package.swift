// swift-tools-version:6.0
// moee: Mixture-of-Experts LLMs as embedding models (Li & Zhou, ICLR 2025), as a two-stage batch pipeline.
import PackageDescription

let package = Package(
    name: "moee",
    products: [
        .executable(name: "pipeline", targets: ["pipeline"]),
        .library(name: "Extract", targets: ["Extract"]),
        .library(name: "Store", targets: ["Store"]),
        .library(name: "Score", targets: ["Score"]),
    ],
    targets: [
        // C libraries from Debian packages (see scripts/setup.sh).
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLZ4", path: "Sources/CLZ4", pkgConfig: "liblz4",
                       providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        // Hand-written CPU kernels that BLAS does not offer (dtype conversion, BF16 dot products, fixed-order
        // products). No FMA contraction: a plain `a * b + c` rounds twice in every build of a kernel, so builds
        // for different CPUs give the same bits (FMA only where a kernel asks for it by intrinsic).
        .target(name: "CKernels", path: "Sources/CKernels",
                cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]),

        // Stage one: checkpoints, tokenizer, the MoE forward pass.
        .target(name: "Extract", dependencies: ["CBLAS", "CKernels"]),
        // The SQLite + LZ4 cache joining stage one to stage two.
        .target(name: "Store", dependencies: ["CSQLite", "CLZ4"]),
        // Stage two: tasks, recipes, MTEB evaluators.
        // Its products run on CKernels' fixed-order kernels, never BLAS, so scores do not depend on the host.
        .target(name: "Score", dependencies: ["CKernels", "Store"]),
        // The command-line tool.
        .executableTarget(name: "pipeline", dependencies: ["Extract", "Store", "Score"]),

        // Locates ../shared for tests; skips visibly when it is absent.
        .target(name: "TestSupport", path: "Sources/TestSupport"),
        .testTarget(name: "ExtractTests", dependencies: ["Extract", "TestSupport"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "TestSupport"]),
        .testTarget(name: "ScoreTests", dependencies: ["Score", "CKernels", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "PipelineTests", dependencies: ["pipeline", "Extract", "Store", "Score", "TestSupport"]),
    ]
)
