// mteb 2.26.24's per-task classification settings (class defaults, overridden in mteb/tasks/classification/...).

extension ClassificationEvaluator {
    /// `AbsTaskClassification.n_experiments`.
    public static let mtebExperiments = 10

    /// `samples_per_label` of a task by its mteb name: 16 for EmotionClassification, 32 for
    /// TweetSentimentExtractionClassification, the class default 8 otherwise (e.g. Banking77Classification).
    public static func mtebSamplesPerLabel(task: String) -> Int {
        switch task {
        case "EmotionClassification": 16
        case "TweetSentimentExtractionClassification": 32
        default: 8
        }
    }
}
