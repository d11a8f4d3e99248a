import Testing
@testable import Score

@Test func ScoreModuleBuilds() { #expect(Bool(true)) }
