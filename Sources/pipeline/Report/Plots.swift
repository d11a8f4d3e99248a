import Foundation
import Score

/// The two figures of a sweep, per (model, prompt).
enum Plots {
    /// The paper's Figure 1: per task type, HS vs RW vs MoEE-concat vs MoEE-sum. A recipe with a grid shows its
    /// best point, and the legend says so and names the split that chose it.
    static func recipeBars(_ table: ResultTable, model: String, prompt: String) -> String {
        let groups = table.types.map(\.abbreviation) + ["Avg."]
        let series = table.bestPerKind(model: model, prompt: prompt).map { best -> SVGChart.Series in
            var name = best.row.recipe.label
            if best.gridSize > 1 { name += " (best of \(best.gridSize) on \(table.splitDescription))" }
            let values = table.types.map { best.row.byType[$0].map { $0 * 100 } } + [best.row.average.map { $0 * 100 }]
            return SVGChart.Series(name: name, values: values)
        }
        return SVGChart.bars(title: "\(model) · prompt \(prompt): HS vs RW vs MoEE", yLabel: "main score x 100",
                             groups: groups, series: series)
    }

    /// Main score against alpha, one line per task type and the average. Nil when the sweep has fewer than two
    /// MoEE-sum alphas for this (model, prompt). Only points sharing the other parameters of the first point
    /// are drawn, so each line varies alpha alone.
    static func alphaLines(_ table: ResultTable, model: String, prompt: String) -> String? {
        let sums = table.rows(model: model, prompt: prompt).filter { $0.recipe.kind == .moeeSum && !$0.recipe.isLabelFree }
        guard let first = sums.first else { return nil }
        func withoutAlpha(_ point: Recipe) -> Recipe { var p = point; p.alpha = 0; return p }
        let line = sums.filter { withoutAlpha($0.recipe) == withoutAlpha(first.recipe) }
            .sorted { $0.recipe.alpha < $1.recipe.alpha }
        guard line.count > 1 else { return nil }
        var series = table.types.map { type in
            SVGChart.Series(name: type.rawValue, values: line.map { $0.byType[type].map { $0 * 100 } })
        }
        series.append(SVGChart.Series(name: "Average", values: line.map { $0.average.map { $0 * 100 } }))
        var title = "\(model) · prompt \(prompt): MoEE-sum, score against alpha"
        let others = withoutAlpha(first.recipe).parameterLabel.replacingOccurrences(of: "alpha=0", with: "")
            .trimmingCharacters(in: .whitespaces)
        if !others.isEmpty { title += " (\(others))" }
        return SVGChart.lines(title: title, xLabel: "alpha (sim = cos HS + alpha · cos RW)", yLabel: "main score x 100",
                              x: line.map(\.recipe.alpha), series: series)
    }
}

/// Writes everything `score` produces from a result table into the manifest's output folder.
enum ReportWriter {
    /// Writes `summary.md`, `summary.csv` and `plots/*.svg`; returns the files written.
    static func write(_ table: ResultTable, to folder: URL, title: String, notes: [String] = []) throws -> [URL] {
        let plots = folder.appendingPathComponent("plots")
        try FileManager.default.createDirectory(at: plots, withIntermediateDirectories: true)
        var written: [URL] = []
        func save(_ text: String, _ url: URL) throws {
            try Data(text.utf8).write(to: url, options: .atomic)
            written.append(url)
        }
        try save(SummaryWriter.markdown(table, title: title, notes: notes), folder.appendingPathComponent("summary.md"))
        try save(SummaryWriter.csv(table), folder.appendingPathComponent("summary.csv"))
        for (model, prompt) in table.modelPrompts {
            let stem = fileName("\(model)__\(prompt)")
            try save(Plots.recipeBars(table, model: model, prompt: prompt), plots.appendingPathComponent("\(stem)__recipes.svg"))
            if let alpha = Plots.alphaLines(table, model: model, prompt: prompt) {
                try save(alpha, plots.appendingPathComponent("\(stem)__alpha.svg"))
            }
        }
        return written
    }

    /// A name safe on every file system: letters, digits, `.`, `-`, `_`; anything else becomes `-`.
    static func fileName(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || "._-".contains($0) ? $0 : "-" })
    }
}
