import Foundation
import Score

/// One scored cell of a sweep: (model, prompt, recipe grid point, task) and its main score.
struct CellScore: Sendable, Equatable {
    let model: String
    let prompt: String
    let recipe: Recipe
    let task: String
    let taskType: TaskType
    let mainScoreName: String
    let mainScore: Double
    /// Every metric the evaluator reported, by mteb's names.
    let metrics: [String: Double]
    /// The split the score was computed on (the test split for every task here).
    let split: String
    /// MoEE-sum's alpha as used for this task: the recipe's, or what its label-free rule chose; nil for other kinds.
    var alpha: Double? = nil
    /// The HS layer entry a label-free layer rule chose for this task; nil when the recipe names its layer.
    var layer: Int? = nil
    /// The main score on a split other than test, for choosing grid points (`TrainSplitScore`: classification only).
    var trainSplitScore: Double? = nil
}

/// The paper's Tables 3 and 4: one row per (model, prompt, recipe grid point), one column per task type (the mean
/// main score of its tasks) and their average; per-task main scores kept for the CSV.
struct ResultTable: Sendable {
    struct Row: Sendable {
        let model: String
        let prompt: String
        let recipe: Recipe
        /// Main score per task name.
        let byTask: [String: Double]
        /// Mean main score per task type present.
        let byType: [TaskType: Double]
        /// Mean over the task-type columns (each type weighs the same, as in the paper's "Avg.").
        let average: Double?
        /// MoEE-sum's alpha per task (differs by task for a label-free rule).
        var alphaByTask: [String: Double] = [:]
        /// The HS layer entry per task, where a label-free rule chose it.
        var layerByTask: [String: Int] = [:]
        /// Held-out train-split accuracy per classification task (`TrainSplitScore`).
        var trainSplitByTask: [String: Double] = [:]
    }

    let rows: [Row]
    /// Task types present, in MTEB's order.
    let types: [TaskType]
    /// Tasks present (name, type), by type order then name.
    let tasks: [(name: String, type: TaskType)]
    /// Which split chose any "best" grid point (there is only the test split in these task folders).
    let splits: Set<String>

    /// Groups cells into rows, keeping the order in which (model, prompt, recipe) first appear.
    init(cells: [CellScore]) {
        var order: [String] = []
        var grouped: [String: [CellScore]] = [:]
        for cell in cells {
            let key = "\(cell.model)\u{1}\(cell.prompt)\u{1}\(cell.recipe.identifier)"
            if grouped[key] == nil { order.append(key) }
            grouped[key, default: []].append(cell)
        }
        var taskTypes: [String: TaskType] = [:]
        for cell in cells { taskTypes[cell.task] = cell.taskType }
        let columnTypes = TaskType.tableOrder.filter { type in taskTypes.values.contains(type) }
        types = columnTypes
        tasks = taskTypes.map { (name: $0.key, type: $0.value) }.sorted {
            let a = columnTypes.firstIndex(of: $0.type) ?? 0, b = columnTypes.firstIndex(of: $1.type) ?? 0
            return a != b ? a < b : $0.name < $1.name
        }
        splits = Set(cells.map(\.split))
        rows = order.compactMap { key in
            guard let group = grouped[key], let first = group.first else { return nil }
            var byTask: [String: Double] = [:]
            var alphaByTask: [String: Double] = [:], trainSplitByTask: [String: Double] = [:]
            var layerByTask: [String: Int] = [:]
            for cell in group {
                byTask[cell.task] = cell.mainScore
                alphaByTask[cell.task] = cell.alpha
                layerByTask[cell.task] = cell.layer
                trainSplitByTask[cell.task] = cell.trainSplitScore
            }
            var byType: [TaskType: Double] = [:]
            for type in columnTypes {
                let scores = group.filter { $0.taskType == type }.map(\.mainScore)
                if !scores.isEmpty { byType[type] = scores.reduce(0, +) / Double(scores.count) }
            }
            let typeScores = columnTypes.compactMap { byType[$0] }
            let average = typeScores.count == columnTypes.count && !typeScores.isEmpty
                ? typeScores.reduce(0, +) / Double(typeScores.count) : nil
            return Row(model: first.model, prompt: first.prompt, recipe: first.recipe, byTask: byTask,
                       byType: byType, average: average, alphaByTask: alphaByTask, layerByTask: layerByTask,
                       trainSplitByTask: trainSplitByTask)
        }
    }

    /// (model, prompt) pairs in row order.
    var modelPrompts: [(model: String, prompt: String)] {
        var seen = Set<String>()
        return rows.compactMap { row in
            seen.insert("\(row.model)\u{1}\(row.prompt)").inserted ? (row.model, row.prompt) : nil
        }
    }

    func rows(model: String, prompt: String) -> [Row] {
        rows.filter { $0.model == model && $0.prompt == prompt }
    }

    /// The row of each recipe kind with the best average for one (model, prompt): for a kind with one grid point,
    /// that point; otherwise the best one, which the caller must label as chosen on `splits`. Label-free points
    /// are their own choice and never compete here.
    func bestPerKind(model: String, prompt: String) -> [(kind: Recipe.Kind, row: Row, gridSize: Int)] {
        let candidates = rows(model: model, prompt: prompt).filter { !$0.recipe.isLabelFree }
        return Recipe.Kind.allCases.compactMap { kind in
            let ofKind = candidates.filter { $0.recipe.kind == kind }
            guard let best = ofKind.max(by: { ($0.average ?? -.infinity) < ($1.average ?? -.infinity) }) else { return nil }
            return (kind, best, ofKind.count)
        }
    }

    /// The split names, for "chosen on the test split".
    var splitDescription: String {
        splits.sorted().joined(separator: "+")
    }
}

/// Scores are shown as percentages with two decimals, as in the paper and on the MTEB leaderboard.
func percent(_ value: Double?) -> String {
    guard let value, value.isFinite else { return "–" }
    return String(format: "%.2f", value * 100)
}
