extension PairFiles {
    /// `<run-dir>/<fp>.last.json`: the result of the pair's last initialize or update (`RunRecord`).
    public func lastRunPath(for fingerprint: Fingerprint) -> String {
        stateFile(fingerprint, "last.json")
    }

    /// `<run-dir>/<fp>.progress.json`: a running transfer's progress (`RunProgress`), removed when it ends.
    public func progressPath(for fingerprint: Fingerprint) -> String {
        stateFile(fingerprint, "progress.json")
    }

    private func stateFile(_ fingerprint: Fingerprint, _ suffix: String) -> String {
        let directory = runDirectory.hasSuffix("/") ? runDirectory : runDirectory + "/"
        return directory + "\(fingerprint).\(suffix)"
    }
}
