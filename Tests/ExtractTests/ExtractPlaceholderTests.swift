import Testing
@testable import Extract

@Test func ExtractModuleBuilds() { #expect(Bool(true)) }
