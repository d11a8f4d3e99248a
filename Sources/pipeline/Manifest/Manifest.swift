import Extract
import Score
import Foundation

/// A sweep: models x prompts x tasks x recipes (with parameter grids), and where the cache and results go
/// (SPEC.md §8; every key is documented in manifests/README.md).
struct Manifest: Sendable {
    /// The file it was read from; relative paths inside resolve against its folder.
    let file: URL
    /// The SQLite cache (`store`).
    var store: URL
    /// Where `score` writes result JSONs, summary tables and plots (`output`).
    var output: URL
    var models: [ModelEntry]
    let prompts: [PromptEntry]
    var tasks: [TaskEntry]
    let recipes: [RecipeGrid]
    /// The default shard count for `extract --shard i` (`shards`; 1 = no sharding).
    let shards: Int

    struct ModelEntry: Sendable, Equatable {
        let name: String
        let path: URL
        /// How weights are held in memory during extract (Extract's `Quantization`); part of the cache key (variant).
        let quantization: Quantization
        /// A cap on input tokens below the model's max_position_embeddings (`max_length`).
        let maxLength: Int?
        /// The most tokens (summed over its texts, packed without padding) one forward batch may hold (`token_budget`).
        let tokenBudget: Int
        /// A folder for the on-disk cache of quantized weights (`quantized_cache`; `extract --quantized-cache`).
        var quantizedCache: URL? = nil
        /// Picks one of several stored variants of this model (`variant`, e.g. "q4k+bf16"); score only.
        var variant: String? = nil
        /// Picks one of several stored fingerprints of this model (`fingerprint`, a prefix is enough); score only.
        var fingerprint: String? = nil
        /// Why the checkpoint folder cannot be used (missing, no config or weights), when the manifest was loaded
        /// for `score`, which can work from the store's record of the model instead; nil when the folder is usable.
        var folderProblem: ManifestError? = nil
    }

    struct PromptEntry: Sendable {
        let prompt: Prompt
        /// Per-task instructions, by task name (`instructions`).
        let instructions: [String: String]

        var name: String { prompt.name }
        func instruction(for task: String) -> String? { instructions[task] }
    }

    /// A task folder chosen by the manifest.
    struct TaskEntry: Sendable, Equatable {
        let name: String
        let type: TaskType
        let folder: URL
    }

    static let defaultTokenBudget = 8192
}

extension Manifest {
    static let topLevelKeys = ["store", "output", "models", "prompts", "tasks", "recipes", "shards", "description"]

    /// Reads and validates a manifest: unknown keys, wrong types, unknown tasks, prompts and recipes, and model
    /// folders without a config or weights are all errors naming the key path. `requireModelFolders: false`
    /// (score) records a folder problem in `ModelEntry.folderProblem` instead: stage two can use the store's record.
    static func load(_ file: URL, requireModelFolders: Bool = true) throws -> Manifest {
        let name = file.path
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw ManifestError(file: name, path: "(file)", message: "cannot read: \(error.localizedDescription)")
        }
        let raw: Any
        do { raw = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            throw ManifestError(file: name, path: "(file)", message: "not valid JSON: \(jsonErrorDetail(error))")
        }
        let folder = file.deletingLastPathComponent()
        return try decode(JSONValue(raw: raw, path: "", file: name), file: file, folder: folder,
                          requireModelFolders: requireModelFolders)
    }

    static func decode(_ root: JSONValue, file: URL, folder: URL, requireModelFolders: Bool = true) throws -> Manifest {
        let top = try root.object(allowedKeys: topLevelKeys)
        try top.finish()
        _ = try top.optional("description")?.string()
        let store = resolve(try top.required("store").string(), against: folder)
        let output = resolve(try top.required("output").string(), against: folder)

        let modelValues = try top.required("models").array()
        guard !modelValues.isEmpty else { throw top.error("\"models\" is empty: name at least one model") }
        let models = try modelValues.map { try decodeModel($0, folder: folder, requireFolder: requireModelFolders) }
        try rejectDuplicates(models.map(\.name), what: "model name", in: top, key: "models")

        let tasks = try decodeTasks(try top.required("tasks"), folder: folder)
        let prompts = try decodePrompts(try top.required("prompts"), taskNames: tasks.map(\.name))
        try rejectDuplicates(prompts.map(\.name), what: "prompt name", in: top, key: "prompts")
        let recipeValues = try top.required("recipes").array()
        guard !recipeValues.isEmpty else { throw top.error("\"recipes\" is empty: name at least one recipe") }
        let recipes = try recipeValues.map(RecipeGrid.decode)

        var shards = 1
        if let value = top.optional("shards") {
            shards = try value.int()
            guard shards >= 1 else { throw value.error("must be at least 1") }
        }
        return Manifest(file: file, store: store, output: output, models: models, prompts: prompts,
                        tasks: tasks, recipes: recipes, shards: shards)
    }

    // MARK: Models

    static let modelKeys = ["name", "path", "quantization", "max_length", "token_budget", "quantized_cache",
                            "variant", "fingerprint"]

    static func decodeModel(_ value: JSONValue, folder: URL, requireFolder: Bool = true) throws -> ModelEntry {
        let object = try value.object(allowedKeys: modelKeys)
        try object.finish()
        let name = try object.required("name").string()
        guard !name.isEmpty else { throw object.error("\"name\" is empty") }
        let pathValue = try object.required("path")
        let path = resolve(try pathValue.string(), against: folder)
        var folderProblem: ManifestError?
        do { try checkModelFolder(path, value: pathValue) } catch let problem as ManifestError where !requireFolder {
            folderProblem = problem
        }

        var quantization = Quantization.none
        if let value = object.optional("quantization") {
            let text = try value.string()
            guard let parsed = Quantization(rawValue: text) else {
                throw value.error("unknown quantization \"\(text)\"" + suggestion(text, Quantization.allCases.map(\.rawValue))
                                  + " (valid: none, int8, q4)")
            }
            quantization = parsed
        }
        var maxLength: Int?
        if let value = object.optional("max_length") {
            let length = try value.int()
            guard length >= 1 else { throw value.error("must be at least 1") }
            maxLength = length
        }
        var tokenBudget = defaultTokenBudget
        if let value = object.optional("token_budget") {
            tokenBudget = try value.int()
            guard tokenBudget >= 1 else { throw value.error("must be at least 1") }
        }
        if let maxLength, maxLength > tokenBudget {
            throw object.error("max_length \(maxLength) is larger than token_budget \(tokenBudget): a single text would not fit in a batch")
        }
        var quantizedCache: URL?
        if let value = object.optional("quantized_cache") {
            let text = try value.string()
            guard !text.isEmpty else { throw value.error("\"quantized_cache\" is empty") }
            quantizedCache = resolve(text, against: folder)
        }
        func nonEmpty(_ key: String) throws -> String? {
            guard let value = object.optional(key) else { return nil }
            let text = try value.string()
            guard !text.isEmpty else { throw value.error("\"\(key)\" is empty") }
            return text
        }
        return ModelEntry(name: name, path: path, quantization: quantization, maxLength: maxLength,
                          tokenBudget: tokenBudget, quantizedCache: quantizedCache,
                          variant: try nonEmpty("variant"), fingerprint: try nonEmpty("fingerprint"),
                          folderProblem: folderProblem)
    }

    /// A checkpoint folder needs config.json, tokenizer.json and weights (SPEC.md §1); checked before any work.
    static func checkModelFolder(_ path: URL, value: JSONValue) throws {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: path.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw value.error("model folder \(path.path) does not exist (download the checkpoint there, see manifests/README.md)")
        }
        for required in ["config.json", "tokenizer.json"]
        where !files.fileExists(atPath: path.appendingPathComponent(required).path) {
            throw value.error("model folder \(path.path) has no \(required)")
        }
        let contents = (try? files.contentsOfDirectory(atPath: path.path)) ?? []
        guard contents.contains(where: { $0.hasSuffix(".safetensors") }) else {
            throw value.error("model folder \(path.path) has no weights (*.safetensors); is the download complete?")
        }
    }

    // MARK: Tasks

    static let taskKeys = ["root", "names", "types"]

    static func decodeTasks(_ value: JSONValue, folder: URL) throws -> [TaskEntry] {
        let object = try value.object(allowedKeys: taskKeys)
        try object.finish()
        let rootValue = try object.required("root")
        let root = resolve(try rootValue.string(), against: folder)
        let catalog: [TaskEntry]
        do { catalog = try TaskCatalog.scan(root) } catch let error as TaskCatalog.Error {
            throw rootValue.error(error.description)
        }
        let names = try object.optional("names")?.array() ?? []
        let types = try object.optional("types")?.array() ?? []
        guard !names.isEmpty || !types.isEmpty else {
            throw object.error("name the tasks with \"names\" (task folder names) and/or \"types\" (task types)")
        }
        var chosen: [TaskEntry] = []
        for value in names {
            let name = try value.string()
            guard let task = catalog.first(where: { $0.name == name }) else {
                throw value.error("unknown task \"\(name)\"" + suggestion(name, catalog.map(\.name))
                                  + " (tasks in \(root.path): \(catalog.map(\.name).joined(separator: ", ")))")
            }
            if !chosen.contains(task) { chosen.append(task) }
        }
        let knownTypes = TaskType.allCases.map(\.rawValue)
        for value in types {
            let text = try value.string()
            guard let type = TaskType(rawValue: text) else {
                throw value.error("unknown task type \"\(text)\"" + suggestion(text, knownTypes)
                                  + " (valid: \(knownTypes.joined(separator: ", ")))")
            }
            let ofType = catalog.filter { $0.type == type }
            guard !ofType.isEmpty else { throw value.error("no task of type \(type) in \(root.path)") }
            for task in ofType where !chosen.contains(task) { chosen.append(task) }
        }
        return chosen
    }

    // MARK: Prompts

    static let promptKeys = ["name", "preset", "template", "instructions", "instruction_format",
                             "append_period", "replace_double_quotes", "underscore_to_space", "trim"]

    static func decodePrompts(_ value: JSONValue, taskNames: [String]) throws -> [PromptEntry] {
        let values = try value.array()
        guard !values.isEmpty else { throw value.error("is empty: name at least one prompt (e.g. \"none\")") }
        return try values.map { try decodePrompt($0, taskNames: taskNames) }
    }

    /// A prompt is a preset name (`"prompteol"`), or an object: a preset with instructions, or a custom template.
    static func decodePrompt(_ value: JSONValue, taskNames: [String]) throws -> PromptEntry {
        if value.isString { return PromptEntry(prompt: try preset(value), instructions: [:]) }
        let object = try value.object(allowedKeys: promptKeys)
        try object.finish()
        var instructions: [String: String] = [:]
        if let instructionValue = object.optional("instructions") {
            let map = try instructionValue.object(allowedKeys: taskNames)
            do { try map.finish() } catch let error as ManifestError {
                throw ManifestError(file: error.file, path: error.path,
                                    message: error.message.replacingOccurrences(of: "unknown key", with: "instruction for unknown or unselected task")
                                        .replacingOccurrences(of: "valid keys", with: "selected tasks"))
            }
            for task in map.keys { instructions[task] = try map.required(task).string() }
        }
        let presetValue = object.optional("preset")
        let templateValue = object.optional("template")
        let flagKeys = ["append_period", "replace_double_quotes", "underscore_to_space", "trim"]

        if let presetValue {
            if templateValue != nil { throw object.error("give either \"preset\" or \"template\", not both") }
            if let flag = flagKeys.first(where: { object.optional($0) != nil }) {
                throw object.error("\"\(flag)\" applies to custom templates only; a preset's preprocessing is fixed (SPEC.md §5)")
            }
            let base = try preset(presetValue)
            let name = try object.optional("name")?.string() ?? base.name
            let format = try object.optional("instruction_format")?.string() ?? Prompt.gritLMInstructionFormat
            let prompt = try makePrompt(name: name, template: base.template, preprocessing: base.preprocessing,
                                        instructionFormat: format, at: object)
            return PromptEntry(prompt: prompt, instructions: instructions)
        }
        guard let templateValue else { throw object.error("a prompt object needs \"preset\" or \"template\"") }
        let name = try object.required("name").string()
        guard !name.isEmpty else { throw object.error("\"name\" is empty") }
        func flag(_ key: String) throws -> Bool { try object.optional(key)?.bool() ?? false }
        let preprocessing = Prompt.Preprocessing(
            appendPeriod: try flag("append_period"), replaceDoubleQuotes: try flag("replace_double_quotes"),
            underscoreToSpace: try flag("underscore_to_space"), trim: try flag("trim"))
        let format = try object.optional("instruction_format")?.string() ?? Prompt.gritLMInstructionFormat
        let prompt = try makePrompt(name: name, template: try templateValue.string(), preprocessing: preprocessing,
                                    instructionFormat: format, at: object)
        return PromptEntry(prompt: prompt, instructions: instructions)
    }

    static func preset(_ value: JSONValue) throws -> Prompt {
        let name = try value.string()
        guard let prompt = Prompt.presets[name] else {
            throw value.error("unknown prompt preset \"\(name)\"" + suggestion(name, Prompt.presetNames)
                              + " (presets: \(Prompt.presetNames.joined(separator: ", ")); or give an object with \"template\")")
        }
        return prompt
    }

    static func makePrompt(name: String, template: String, preprocessing: Prompt.Preprocessing,
                           instructionFormat: String, at object: JSONObject) throws -> Prompt {
        do {
            return try Prompt(name: name, template: template, preprocessing: preprocessing,
                              instructionFormat: instructionFormat)
        } catch let error as PromptError {
            throw object.error(error.description)
        }
    }

    // MARK: Helpers

    /// A path from the manifest: absolute, `~/...`, or relative to the manifest's folder.
    static func resolve(_ path: String, against folder: URL) -> URL {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return URL(fileURLWithPath: expanded).standardizedFileURL }
        return folder.appendingPathComponent(expanded).standardizedFileURL
    }

    static func rejectDuplicates(_ names: [String], what: String, in object: JSONObject, key: String) throws {
        var seen = Set<String>()
        for name in names where !seen.insert(name).inserted {
            throw object.error("\"\(key)\": duplicate \(what) \"\(name)\"")
        }
    }

    private static func jsonErrorDetail(_ error: Error) -> String {
        let info = (error as NSError).userInfo
        return (info[NSDebugDescriptionErrorKey] as? String) ?? error.localizedDescription
    }
}

/// "; did you mean \"x\"?" when a candidate is close, else "".
func suggestion(_ word: String, _ candidates: [String]) -> String {
    guard let best = closest(to: word, among: candidates) else { return "" }
    return "; did you mean \"\(best)\"?"
}
