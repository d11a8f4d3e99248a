import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Score
import Testing
@testable import pipeline

/// Report layout from synthetic scores (values chosen so every average can be checked by hand).
@Suite struct ReportTests {
    static let tasks: [(String, TaskType)] = [("STS12", .sts), ("STS13", .sts), ("EmotionClassification", .classification),
                                              ("SummEval", .summarization)]

    /// Score of a task = base + 0.01 * task index; MoEE-sum adds alpha / 10 so alpha 1 is best.
    static func cells() -> [CellScore] {
        var points = [Recipe(kind: .hs), Recipe(kind: .rw), Recipe(kind: .moeeConcat)]
        for alpha in [0, 0.5, 1] { points.append(Recipe(kind: .moeeSum, alpha: alpha)) }
        var cells: [CellScore] = []
        for prompt in ["none", "prompteol"] {
            for (p, point) in points.enumerated() {
                for (t, task) in tasks.enumerated() {
                    let alphaBonus = point.kind == .moeeSum ? point.alpha / 10 : 0
                    let score = 0.1 * Double(p) + 0.01 * Double(t) + alphaBonus - (prompt == "none" ? 0.05 : 0)
                    cells.append(CellScore(model: "m", prompt: prompt, recipe: point, task: task.0, taskType: task.1,
                                           mainScoreName: "cosine_spearman", mainScore: score, metrics: [:], split: "test"))
                }
            }
        }
        return cells
    }

    @Test func tableHasOneRowPerGridPointAndTypeColumnsInMTEBOrder() {
        let table = ResultTable(cells: Self.cells())
        #expect(table.types == [.classification, .sts, .summarization])
        #expect(table.tasks.map(\.name) == ["EmotionClassification", "STS12", "STS13", "SummEval"])
        #expect(table.rows.count == 12)
        let hs = table.rows[6]  // prompteol, HS: tasks score 0.00, 0.01, 0.02, 0.03
        #expect(hs.prompt == "prompteol" && hs.recipe.kind == .hs)
        #expect(abs((hs.byType[.sts] ?? 0) - 0.005) < 1e-12)
        #expect(abs((hs.byType[.classification] ?? 0) - 0.02) < 1e-12)
        #expect(abs((hs.average ?? 0) - (0.005 + 0.02 + 0.03) / 3) < 1e-12)
    }

    /// The train-split choice names the point with the best held-out score, not the best test score.
    @Test func trainSplitChoiceIgnoresTestScores() {
        let cells = Self.cells().map { cell -> CellScore in
            var copy = cell
            if cell.taskType == .classification && cell.recipe.kind == .moeeSum {
                copy.trainSplitScore = 1 - cell.recipe.alpha  // alpha 0 best on train; alpha 1 best on test
            }
            return copy
        }
        let lines = SummaryWriter.trainSplitLines(ResultTable(cells: cells))
        #expect(lines.count == 2)  // two prompts x MoEE-sum x one classification task (HS has one point)
        #expect(lines.allSatisfy { $0.contains("MoEE-sum, EmotionClassification: **MoEE-sum alpha=0** chosen on the train split") })
        #expect(lines.allSatisfy { $0.contains("the test-chosen MoEE-sum alpha=1 scores") })
        #expect(SummaryWriter.markdown(ResultTable(cells: cells), title: "t").contains("## Chosen on the train split"))
        #expect(!SummaryWriter.markdown(ResultTable(cells: Self.cells()), title: "t").contains("## Chosen on the train split"))
    }

    @Test func markdownShowsEveryGridPointAndSaysWhichSplitChoseTheBest() {
        let markdown = SummaryWriter.markdown(ResultTable(cells: Self.cells()), title: "t")
        let lines = markdown.split(separator: "\n").map(String.init)
        #expect(lines.contains("| Model | Prompt | Recipe | Class. | STS | Summ. | Avg. |"))
        // prompteol HS: Class. 2.00, STS 0.50, Summ. 3.00, Avg. 1.83
        #expect(lines.contains("| m | prompteol | HS | 2.00 | 0.50 | 3.00 | 1.83 |"))
        for alpha in ["0", "0.5", "1"] {
            #expect(lines.contains { $0.hasPrefix("| m | none | MoEE-sum alpha=\(alpha) |") })
        }
        #expect(markdown.contains("best of 3 grid points is **MoEE-sum alpha=1**"))
        #expect(markdown.contains("chosen on the test split"))
        #expect(lines.contains("| Model | Prompt | Recipe | EmotionClassification | STS12 | STS13 | SummEval |"))
    }

    @Test func labelFreeLayerLineComparesWithTheLayerGridPerTask() {
        // HS at layers 1, 2 and -1, where layer 2 is best on every task but SummEval (layer 1), and a label-free row
        // that chose layer 1 for STS12 and -1 elsewhere.
        var cells: [CellScore] = []
        for (t, task) in Self.tasks.enumerated() {
            for layer in [1, 2, -1] {
                let score = task.0 == "SummEval" ? (layer == 1 ? 0.9 : 0.1) : (layer == 2 ? 0.8 : 0.2) + 0.01 * Double(t)
                cells.append(CellScore(model: "m", prompt: "none", recipe: Recipe(kind: .hs, layer: layer), task: task.0,
                                       taskType: task.1, mainScoreName: "main", mainScore: score, metrics: [:], split: "test"))
            }
            let chosen = task.0 == "STS12" ? 1 : -1
            cells.append(CellScore(model: "m", prompt: "none", recipe: Recipe(kind: .hs, layerRule: .effectiveRank), task: task.0,
                                   taskType: task.1, mainScoreName: "main", mainScore: 0.5, metrics: [:], split: "test", layer: chosen))
        }
        let table = ResultTable(cells: cells)
        let lines = SummaryWriter.labelFreeLayerLines(table)
        #expect(lines.count == 1)
        #expect(lines.first?.contains("**HS layer=label-free**: Avg. 50.00") == true)
        #expect(lines.first?.contains("best of 3 layers on the test split") == true)
        #expect(lines.first?.contains("STS12 1 (test-chosen 2)") == true)
        #expect(lines.first?.contains("SummEval -1 (test-chosen 1)") == true)
        // Label-free rows never compete as "best grid points".
        #expect(table.bestPerKind(model: "m", prompt: "none").first?.gridSize == 3)
        #expect(SummaryWriter.markdown(table, title: "t").contains("## Label-free layer"))
    }

    @Test func csvHasTypeAverageAndTaskColumns() throws {
        let csv = SummaryWriter.csv(ResultTable(cells: Self.cells()))
        let lines = csv.split(separator: "\n").map(String.init)
        #expect(lines[0] == "model,prompt,recipe,parameters,Classification,STS,Summarization,average,EmotionClassification,STS12,STS13,SummEval")
        #expect(lines.count == 13)
        let sum = try #require(lines.first { $0.hasPrefix("m,prompteol,moee-sum,alpha=0.5,") })
        let fields = sum.split(separator: ",", omittingEmptySubsequences: false)
        #expect(fields.count == 12)
        #expect(abs((Double(fields[8]) ?? 0) - (0.4 + 0.02 + 0.05)) < 1e-12)  // point 4, task 2, alpha 0.5
    }

    @Test func plotsAreWellFormedSVG() throws {
        let table = ResultTable(cells: Self.cells())
        let bars = Plots.recipeBars(table, model: "m", prompt: "none")
        #expect(try elementCount(bars, "rect") == 1 + 4 * 4 + 4)  // background, 4 recipes x (3 types + Avg.), legend
        #expect(bars.contains("MoEE-sum alpha=1 (best of 3 on test)"))
        let lines = try #require(Plots.alphaLines(table, model: "m", prompt: "none"))
        #expect(try elementCount(lines, "polyline") == 4)  // 3 types + average
        #expect(try elementCount(lines, "circle") == 4 * 3 + 4)
    }

    @Test func noAlphaPlotWithoutAnAlphaGrid() {
        let cells = Self.cells().filter { $0.recipe.kind != .moeeSum || $0.recipe.alpha == 1 }
        #expect(Plots.alphaLines(ResultTable(cells: cells), model: "m", prompt: "none") == nil)
    }

    @Test func negativeScoresGetAnAxisBelowZero() {
        let axis = SVGChart.Axis(values: [-12.5, 40])
        #expect(axis.low <= -12.5 && axis.high >= 40 && axis.ticks.contains(0))
    }

    @Test func writerCreatesSummaryAndPlots() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("moee-report-\(UUID().uuidString)")
        let written = try ReportWriter.write(ResultTable(cells: Self.cells()), to: folder, title: "t")
        #expect(written.map(\.lastPathComponent) == ["summary.md", "summary.csv", "m__none__recipes.svg", "m__none__alpha.svg",
                                                     "m__prompteol__recipes.svg", "m__prompteol__alpha.svg"])
        try? FileManager.default.removeItem(at: folder)
    }

    /// Parses the SVG as XML (fails on malformed markup) and counts elements named `name`.
    func elementCount(_ svg: String, _ name: String) throws -> Int {
        final class Counter: NSObject, XMLParserDelegate {
            var counts: [String: Int] = [:]
            func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?,
                        qualifiedName: String?, attributes: [String: String] = [:]) {
                counts[element, default: 0] += 1
            }
        }
        let parser = XMLParser(data: Data(svg.utf8))
        let counter = Counter()
        parser.delegate = counter
        #expect(parser.parse(), "malformed SVG: \(String(describing: parser.parserError))")
        return counter.counts[name] ?? 0
    }
}
