/// The six MTEB task types this tool scores, spelled as in `task.json` (`"type"`).
public enum TaskType: String, Codable, Sendable, CaseIterable {
    case sts = "STS"
    case summarization = "Summarization"
    case pairClassification = "PairClassification"
    case classification = "Classification"
    case clustering = "Clustering"
    case reranking = "Reranking"

    /// MTEB's column order in result tables (the paper's Tables 3 and 4).
    public static let tableOrder: [TaskType] = [.classification, .clustering, .pairClassification, .reranking, .sts,
                                                .summarization]

    /// The column heading in result tables.
    public var abbreviation: String {
        switch self {
        case .classification: return "Class."
        case .clustering: return "Clust."
        case .pairClassification: return "PairClass."
        case .reranking: return "Rerank."
        case .sts: return "STS"
        case .summarization: return "Summ."
        }
    }

    /// mteb's main score for the type (what `task.json` names by default).
    public var defaultMainScore: String {
        switch self {
        case .sts, .summarization: return "cosine_spearman"
        case .pairClassification: return "max_ap"
        case .classification: return "accuracy"
        case .clustering: return "v_measure"
        case .reranking: return "map_at_1000"
        }
    }
}

/// One STS pair; `score` on the task's raw gold scale.
public struct STSPair: Sendable, Equatable {
    public var sentence1: String, sentence2: String, score: Double
    public init(sentence1: String, sentence2: String, score: Double) {
        self.sentence1 = sentence1; self.sentence2 = sentence2; self.score = score
    }
}

/// One SummEval article: only the summaries are embedded; `relevance` has one entry per machine summary.
public struct SummarizationRecord: Sendable, Equatable {
    public var text: String, humanSummaries: [String], machineSummaries: [String], relevance: [Double]
    public init(text: String, humanSummaries: [String], machineSummaries: [String], relevance: [Double]) {
        self.text = text; self.humanSummaries = humanSummaries
        self.machineSummaries = machineSummaries; self.relevance = relevance
    }
}

/// One pair with a 0/1 duplicate label.
public struct LabelledPair: Sendable, Equatable {
    public var sentence1: String, sentence2: String, label: Bool
    public init(sentence1: String, sentence2: String, label: Bool) {
        self.sentence1 = sentence1; self.sentence2 = sentence2; self.label = label
    }
}

/// One classification row; integer labels are kept as their decimal text.
public struct LabelledText: Sendable, Equatable {
    public var text: String, label: String
    public init(text: String, label: String) { self.text = text; self.label = label }
}

/// One clustering set (one mteb hf_subset).
public struct ClusteringSet: Sendable, Equatable {
    public var sentences: [String], labels: [String]
    public init(sentences: [String], labels: [String]) { self.sentences = sentences; self.labels = labels }
}

/// One reranking query in mteb's old format.
public struct RerankingRecord: Sendable, Equatable {
    public var query: String, positive: [String], negative: [String]
    public init(query: String, positive: [String], negative: [String]) {
        self.query = query; self.positive = positive; self.negative = negative
    }
}

/// A task's records, by type.
public enum TaskData: Sendable, Equatable {
    case sts([STSPair])
    case summarization([SummarizationRecord])
    case pairClassification([LabelledPair])
    case classification(train: [LabelledText], test: [LabelledText])
    case clustering([ClusteringSet])
    case reranking([RerankingRecord])

    public var type: TaskType {
        switch self {
        case .sts: return .sts
        case .summarization: return .summarization
        case .pairClassification: return .pairClassification
        case .classification: return .classification
        case .clustering: return .clustering
        case .reranking: return .reranking
        }
    }
}
