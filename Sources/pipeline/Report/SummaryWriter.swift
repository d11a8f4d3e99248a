import Foundation
import Score

/// `summary.md` and `summary.csv`, laid out like the paper's Tables 3 and 4.
enum SummaryWriter {
    /// The Markdown summary: the main table (task types and average), the grid points that a reader might call
    /// "best" with the split that chose them, and the per-task table.
    static func markdown(_ table: ResultTable, title: String, notes: [String] = []) -> String {
        var lines = ["# \(title)", ""]
        lines += notes.map { "> \($0)" }
        if !notes.isEmpty { lines.append("") }
        lines.append("Main score of each task x 100; a task-type column is the mean over its tasks, Avg. the mean of the "
                     + "task-type columns. Every grid point is its own row.")
        lines.append("")

        let typeHeaders = table.types.map(\.abbreviation)
        lines.append(markdownRow(["Model", "Prompt", "Recipe"] + typeHeaders + ["Avg."]))
        lines.append(markdownRow(["---", "---", "---"] + Array(repeating: "---:", count: typeHeaders.count + 1)))
        for row in table.rows {
            lines.append(markdownRow([row.model, row.prompt, row.recipe.label]
                                     + table.types.map { percent(row.byType[$0]) } + [percent(row.average)]))
        }

        let choices = bestLines(table)
        if !choices.isEmpty {
            lines += ["", "## Best grid points", ""]
            lines.append("Chosen by Avg. on the **\(table.splitDescription)** split, the same data the scores are computed on: "
                         + "an optimistic choice, not a held-out one. Every point is in the table above.")
            lines.append("")
            lines += choices
        }

        let trainChosen = trainSplitLines(table)
        if !trainChosen.isEmpty {
            lines += ["", "## Chosen on the train split", ""]
            lines.append("Classification tasks only (the other task folders hold a test split only): per task, the grid point "
                         + "with the best held-out accuracy on the **train** split (no test label is read; docs/score.md), "
                         + "its test score, and the grid's best test score beside it.")
            lines.append("")
            lines += trainChosen
        }

        let labelFree = labelFreeLines(table)
        if !labelFree.isEmpty {
            lines += ["", "## Label-free alpha", ""]
            lines.append("MoEE-sum with alpha chosen per task from the task's texts alone (no label, no gold score, no split; "
                         + "docs/score.md, \"Label-free alpha\"), beside the alpha chosen on the "
                         + "**\(table.splitDescription)** split.")
            lines.append("")
            lines += labelFree
        }

        let labelFreeLayer = labelFreeLayerLines(table)
        if !labelFreeLayer.isEmpty {
            lines += ["", "## Label-free layer", ""]
            lines.append("The HS layer chosen per task from the task's texts alone: the layer whose vectors have the highest "
                         + "effective rank (no label, no gold score, no split; docs/score.md, \"Label-free layer\"), beside "
                         + "the layer grid's best on the **\(table.splitDescription)** split. Entries count as in "
                         + "`output_hidden_states`: 0 the embedding output, the last the final norm output.")
            lines.append("")
            lines += labelFreeLayer
        }

        lines += ["", "## Per task", ""]
        let taskHeaders = table.tasks.map(\.name)
        lines.append(markdownRow(["Model", "Prompt", "Recipe"] + taskHeaders))
        lines.append(markdownRow(["---", "---", "---"] + Array(repeating: "---:", count: taskHeaders.count)))
        for row in table.rows {
            lines.append(markdownRow([row.model, row.prompt, row.recipe.label] + taskHeaders.map { percent(row.byTask[$0]) }))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One line per (model, prompt, recipe kind) whose grid has more than one point.
    static func bestLines(_ table: ResultTable) -> [String] {
        var lines: [String] = []
        for (model, prompt) in table.modelPrompts {
            for best in table.bestPerKind(model: model, prompt: prompt) where best.gridSize > 1 {
                lines.append("- \(model) / \(prompt) / \(best.kind.displayName): best of \(best.gridSize) grid points is "
                             + "**\(best.row.recipe.label)** (Avg. \(percent(best.row.average)), chosen on the "
                             + "\(table.splitDescription) split)")
            }
        }
        return lines
    }

    /// Per (model, prompt, recipe kind with a grid) and classification task: the point chosen on the train split.
    static func trainSplitLines(_ table: ResultTable) -> [String] {
        var lines: [String] = []
        for (model, prompt) in table.modelPrompts {
            let rows = table.rows(model: model, prompt: prompt).filter { !$0.recipe.isLabelFree }
            for kind in Recipe.Kind.allCases {
                let grid = rows.filter { $0.recipe.kind == kind }
                guard grid.count > 1 else { continue }
                for task in table.tasks where grid.allSatisfy({ $0.trainSplitByTask[task.name] != nil }) {
                    func score(_ row: ResultTable.Row) -> Double { row.byTask[task.name] ?? -.infinity }
                    // The first point on a tie, in grid order: no test score breaks it.
                    guard let chosen = grid.max(by: { ($0.trainSplitByTask[task.name] ?? 0) < ($1.trainSplitByTask[task.name] ?? 0) }),
                          let best = grid.max(by: { score($0) < score($1) }) else { continue }
                    lines.append("- \(model) / \(prompt) / \(kind.displayName), \(task.name): **\(chosen.recipe.label)** "
                                 + "chosen on the train split (held-out accuracy \(percent(chosen.trainSplitByTask[task.name]))) "
                                 + "scores \(percent(chosen.byTask[task.name])) on test; the test-chosen "
                                 + "\(best.recipe.label) scores \(percent(best.byTask[task.name]))")
                }
            }
        }
        return lines
    }

    /// One line per label-free MoEE-sum row: its Avg., the alpha it chose per task, and how far it is from the
    /// test-chosen best MoEE-sum point.
    static func labelFreeLines(_ table: ResultTable) -> [String] {
        var lines: [String] = []
        for (model, prompt) in table.modelPrompts {
            let best = table.bestPerKind(model: model, prompt: prompt).first { $0.kind == .moeeSum }
            for row in table.rows(model: model, prompt: prompt) where row.recipe.alphaRule != nil && row.recipe.layerRule == nil {
                let alphas = table.tasks.compactMap { task in row.alphaByTask[task.name].map { "\(task.name) \(String(format: "%.3g", $0))" } }
                var line = "- \(model) / \(prompt) / **\(row.recipe.label)**: Avg. \(percent(row.average))"
                if let best, let chosen = best.row.average, let average = row.average {
                    line += String(format: " (%+.2f vs %@, chosen on the %@ split)", (average - chosen) * 100,
                                   best.row.recipe.label, table.splitDescription)
                }
                lines.append(line + "; alpha per task: " + alphas.joined(separator: ", "))
            }
        }
        return lines
    }

    /// One line per label-free-layer row: its Avg. and layer per task, beside the grid points that differ from it only
    /// in the layer (same kind and other parameters): their best Avg., and per task the layer of the best test score.
    static func labelFreeLayerLines(_ table: ResultTable) -> [String] {
        var lines: [String] = []
        for (model, prompt) in table.modelPrompts {
            let rows = table.rows(model: model, prompt: prompt)
            for row in rows where row.recipe.layerRule != nil {
                func sameButLayer(_ other: Recipe) -> Bool {
                    var a = other, b = row.recipe
                    a.layer = 0; a.layerRule = nil; b.layer = 0; b.layerRule = nil
                    return a == b && !other.isLabelFree
                }
                let grid = rows.filter { sameButLayer($0.recipe) }
                var line = "- \(model) / \(prompt) / **\(row.recipe.label)**: Avg. \(percent(row.average))"
                if let best = grid.max(by: { ($0.average ?? -.infinity) < ($1.average ?? -.infinity) }),
                   let chosen = best.average, let average = row.average {
                    line += String(format: " (%+.2f vs %@, best of %d layers on the %@ split)", (average - chosen) * 100,
                                   best.recipe.label, grid.count, table.splitDescription)
                }
                let perTask = table.tasks.compactMap { task -> String? in
                    guard let layer = row.layerByTask[task.name] else { return nil }
                    var text = "\(task.name) \(layer)"
                    if grid.count > 1, let best = grid.max(by: { ($0.byTask[task.name] ?? -.infinity) < ($1.byTask[task.name] ?? -.infinity) }) {
                        text += " (test-chosen \(best.recipe.layerText))"
                    }
                    return text
                }
                lines.append(line + "; layer per task: " + perTask.joined(separator: ", "))
            }
        }
        return lines
    }

    private static func markdownRow(_ cells: [String]) -> String {
        "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |"
    }

    /// The CSV: one row per (model, prompt, grid point); task-type columns, the average, then every task.
    /// Scores are fractions as the evaluators report them (not x 100), with full precision.
    static func csv(_ table: ResultTable) -> String {
        let header = ["model", "prompt", "recipe", "parameters"] + table.types.map(\.rawValue) + ["average"] + table.tasks.map(\.name)
        var lines = [csvRow(header)]
        for row in table.rows {
            let cells = [row.model, row.prompt, row.recipe.kind.rawValue, row.recipe.parameterLabel]
                + table.types.map { number(row.byType[$0]) } + [number(row.average)]
                + table.tasks.map { number(row.byTask[$0.name]) }
            lines.append(csvRow(cells))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "" }
        return String(value)
    }

    private static func csvRow(_ cells: [String]) -> String {
        cells.map { cell in
            cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                ? "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : cell
        }.joined(separator: ",")
    }
}
