import Foundation

/// A task folder (SPEC §6): `task.json` plus JSONL splits in the format of `../shared/data/mteb/README.md`.
///
/// Named `ScoreTask`, not `Task`, so that it never shadows Swift's concurrency `Task` in code importing Score.
public struct ScoreTask: Sendable, Equatable {
    public var name: String
    public var type: TaskType
    /// mteb's main metric (`task.json` `main_score`, else the type's default).
    public var mainScore: String
    /// What the result JSON reports as `dataset_revision` (`task.json` `dataset_revision`, else the source commit).
    public var datasetRevision: String
    /// mteb's hf_subset names, one per clustering set (one, `default`, for the other types).
    public var hfSubsets: [String]
    public var languages: [String]
    public var data: TaskData
    /// Classification: mteb's `samples_per_label` for this task.
    public var samplesPerLabel: Int
    /// Clustering: mteb's sampling parameters for this task.
    public var clusteringParameters: ClusteringParameters

    public init(name: String, type: TaskType, mainScore: String? = nil, datasetRevision: String = "unknown",
                hfSubsets: [String]? = nil, languages: [String] = ["eng-Latn"], data: TaskData,
                samplesPerLabel: Int? = nil, clusteringParameters: ClusteringParameters? = nil) {
        self.name = name
        self.type = type
        self.mainScore = mainScore ?? type.defaultMainScore
        self.datasetRevision = datasetRevision
        let known = KnownTask.parameters(for: name)
        if case let .clustering(sets) = data {
            self.hfSubsets = hfSubsets ?? known.hfSubsets ?? (sets.count == 1 ? ["default"] : sets.indices.map { "set\($0)" })
        } else {
            self.hfSubsets = hfSubsets ?? ["default"]
        }
        self.languages = languages
        self.data = data
        self.samplesPerLabel = samplesPerLabel ?? known.samplesPerLabel ?? 8
        self.clusteringParameters = clusteringParameters ?? known.clustering ?? ClusteringParameters()
    }
}

/// mteb's per-task settings for the tasks of `../shared/data/mteb` that differ from the class defaults.
enum KnownTask {
    struct Parameters {
        var samplesPerLabel: Int?
        var clustering: ClusteringParameters?
        var hfSubsets: [String]?
    }

    static func parameters(for name: String) -> Parameters {
        switch name {
        case "EmotionClassification": return Parameters(samplesPerLabel: 16)
        case "TweetSentimentExtractionClassification": return Parameters(samplesPerLabel: 32)
        case "Banking77Classification": return Parameters(samplesPerLabel: 8)
        case "SIB200ClusteringS2S":
            var clustering = ClusteringParameters()
            clustering.maxDocumentsToEmbed = 1004
            clustering.maxFractionOfDocumentsToEmbed = nil
            return Parameters(clustering: clustering, hfSubsets: ["eng_Latn"])
        case "ClusTREC-Covid": return Parameters(hfSubsets: ["title and abstract", "title"])
        default: return Parameters()
        }
    }
}

extension ScoreTask {
    /// Loads and validates a task folder. Optional `task.json` keys beyond the data README:
    /// `samples_per_label` (int), `max_document_to_embed` (int or null),
    /// `max_fraction_of_documents_to_embed` (number or null), `hf_subsets` [str], `languages` [str],
    /// `dataset_revision` (str).
    public static func load(from folder: URL) throws -> ScoreTask {
        let infoURL = folder.appendingPathComponent("task.json")
        let infoFile = infoURL.path
        guard FileManager.default.fileExists(atPath: infoFile) else {
            throw ScoreError.unreadable(file: infoFile, line: 0, reason: "task.json not found (is \(folder.path) a task folder?)")
        }
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: Data(contentsOf: infoURL)) } catch {
            throw ScoreError.unreadable(file: infoFile, line: 0, reason: "not valid JSON")
        }
        guard let object = parsed as? [String: Any] else {
            throw ScoreError.unreadable(file: infoFile, line: 0, reason: "expected a JSON object")
        }
        let info = JSONRecord(file: infoFile, line: 1, object: object)
        let name = try info.string("name")
        let typeName = try info.string("type")
        guard let type = TaskType(rawValue: typeName) else { throw ScoreError.unknownTaskType(file: infoFile, found: typeName) }
        let mainScore = object["main_score"] == nil ? nil : try info.string("main_score")
        let revision = (object["dataset_revision"] as? String)
            ?? ((object["source"] as? [String: Any])?["commit"] as? String) ?? "unknown"
        let hfSubsets = object["hf_subsets"] == nil ? nil : try info.strings("hf_subsets")
        let languages = object["languages"] == nil ? ["eng-Latn"] : try info.strings("languages")
        var samplesPerLabel: Int?
        if object["samples_per_label"] != nil {
            let value = try info.number("samples_per_label")
            guard value >= 1, value == value.rounded() else { throw info.bad("samples_per_label", "a positive integer") }
            samplesPerLabel = Int(value)
        }
        var clustering: ClusteringParameters?
        if object.keys.contains("max_document_to_embed") || object.keys.contains("max_fraction_of_documents_to_embed") {
            var parameters = KnownTask.parameters(for: name).clustering ?? ClusteringParameters()
            if let value = object["max_document_to_embed"] {
                if value is NSNull { parameters.maxDocumentsToEmbed = nil } else {
                    let number = try info.number("max_document_to_embed")
                    guard number >= 1, number == number.rounded() else { throw info.bad("max_document_to_embed", "a positive integer or null") }
                    parameters.maxDocumentsToEmbed = Int(number)
                }
            }
            if let value = object["max_fraction_of_documents_to_embed"] {
                if value is NSNull { parameters.maxFractionOfDocumentsToEmbed = nil } else {
                    let number = try info.number("max_fraction_of_documents_to_embed")
                    guard number > 0, number <= 1 else { throw info.bad("max_fraction_of_documents_to_embed", "a number in (0, 1] or null") }
                    parameters.maxFractionOfDocumentsToEmbed = number
                }
            }
            clustering = parameters
        }

        /// The split's records, each converted as it is read (the Foundation objects of one line at a time).
        func split<Row>(_ splitName: String, _ convert: (JSONRecord) throws -> Row) throws -> [Row] {
            let url = folder.appendingPathComponent("\(splitName).jsonl")
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ScoreError.missingSplit(task: name, file: url.path)
            }
            let rows = try JSONLines.map(url, convert)
            guard !rows.isEmpty else { throw ScoreError.emptyTask(task: name, detail: "\(url.path) has no records") }
            return rows
        }

        let data: TaskData
        switch type {
        case .sts:
            data = .sts(try split("test") {
                STSPair(sentence1: try $0.string("sentence1"), sentence2: try $0.string("sentence2"), score: try $0.number("score"))
            })
        case .summarization:
            data = .summarization(try split("test") { record in
                let summary = SummarizationRecord(text: try record.string("text"),
                                                  humanSummaries: try record.strings("human_summaries"),
                                                  machineSummaries: try record.strings("machine_summaries"),
                                                  relevance: try record.numbers("relevance"))
                guard summary.machineSummaries.count == summary.relevance.count else {
                    throw ScoreError.unequalLengths(file: record.file, line: record.line, detail:
                        "'relevance' has \(summary.relevance.count) entries but 'machine_summaries' has \(summary.machineSummaries.count)")
                }
                guard !summary.humanSummaries.isEmpty else { throw record.bad("human_summaries", "a non-empty list of strings") }
                return summary
            })
        case .pairClassification:
            data = .pairClassification(try split("test") {
                LabelledPair(sentence1: try $0.string("sentence1"), sentence2: try $0.string("sentence2"),
                             label: try $0.binaryLabel("label"))
            })
        case .classification:
            func rows(_ splitName: String) throws -> [LabelledText] {
                try split(splitName) { LabelledText(text: try $0.string("text"), label: try $0.label("label")) }
            }
            data = .classification(train: try rows("train"), test: try rows("test"))
        case .clustering:
            data = .clustering(try split("test") { record in
                let set = ClusteringSet(sentences: try record.strings("sentences"), labels: try record.strings("labels"))
                guard set.sentences.count == set.labels.count else {
                    throw ScoreError.unequalLengths(file: record.file, line: record.line, detail:
                        "'labels' has \(set.labels.count) entries but 'sentences' has \(set.sentences.count)")
                }
                guard !set.sentences.isEmpty else { throw record.bad("sentences", "a non-empty list of strings") }
                return set
            })
        case .reranking:
            data = .reranking(try split("test") {
                RerankingRecord(query: try $0.string("query"), positive: try $0.strings("positive"),
                                negative: try $0.strings("negative"))
            })
        }
        if case let .clustering(sets) = data, let hfSubsets, hfSubsets.count != sets.count {
            throw ScoreError.unequalLengths(file: infoFile, line: 1, detail:
                "'hf_subsets' names \(hfSubsets.count) subsets but test.jsonl has \(sets.count) clustering sets")
        }
        return ScoreTask(name: name, type: type, mainScore: mainScore, datasetRevision: revision, hfSubsets: hfSubsets,
                         languages: languages, data: data, samplesPerLabel: samplesPerLabel,
                         clusteringParameters: clustering)
    }
}
