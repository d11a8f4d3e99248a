// mteb 2.26.24's per-task clustering settings (`AbsTaskClustering` defaults, overridden in
// mteb/tasks/clustering/...).

extension ClusteringParameters {
    /// The settings mteb uses for a task by its mteb name: SIB200ClusteringS2S embeds up to 1004 documents per
    /// subset; every other "fast" clustering task here (e.g. ClusTREC-Covid) keeps the defaults (4% of the
    /// documents, 10 bootstrap runs of 16384, k-means batches of 512, seed 42).
    public static func mteb(task: String) -> ClusteringParameters {
        var parameters = ClusteringParameters()
        if task == "SIB200ClusteringS2S" {
            parameters.maxDocumentsToEmbed = 1004
            parameters.maxFractionOfDocumentsToEmbed = nil
        }
        return parameters
    }
}
