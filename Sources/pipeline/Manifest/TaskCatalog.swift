import Foundation
import Score

/// The task folders under a root (SPEC.md §6): every subfolder with a `task.json`, by name and type.
///
/// Only `name` and `type` are read here, so that a manifest can be checked (and task names suggested) before
/// any work starts; loading the splits is the Score module's job.
enum TaskCatalog {
    enum Error: Swift.Error, CustomStringConvertible {
        case notAFolder(String)
        case empty(String)
        case badTaskJSON(String, String)

        var description: String {
            switch self {
            case .notAFolder(let path): return "task root \(path) is not a folder"
            case .empty(let path): return "task root \(path) holds no task folder (a folder with task.json)"
            case .badTaskJSON(let path, let why): return "\(path): \(why)"
            }
        }
    }

    static func scan(_ root: URL) throws -> [Manifest.TaskEntry] {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Error.notAFolder(root.path)
        }
        let names = ((try? files.contentsOfDirectory(atPath: root.path)) ?? []).sorted()
        var tasks: [Manifest.TaskEntry] = []
        for folderName in names {
            let folder = root.appendingPathComponent(folderName)
            let taskFile = folder.appendingPathComponent("task.json")
            guard files.fileExists(atPath: taskFile.path) else { continue }
            tasks.append(try readTask(taskFile, folder: folder, folderName: folderName))
        }
        guard !tasks.isEmpty else { throw Error.empty(root.path) }
        return tasks
    }

    private static func readTask(_ file: URL, folder: URL, folderName: String) throws -> Manifest.TaskEntry {
        guard let data = try? Data(contentsOf: file),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw Error.badTaskJSON(file.path, "not a JSON object")
        }
        guard let text = object["type"] as? String else { throw Error.badTaskJSON(file.path, "no string \"type\"") }
        guard let type = TaskType(rawValue: text) else {
            throw Error.badTaskJSON(file.path, "unknown task type \"\(text)\"\(suggestion(text, TaskType.allCases.map(\.rawValue)))")
        }
        // The folder name is what a manifest names; task.json's "name" may carry a longer display name.
        return Manifest.TaskEntry(name: folderName, type: type, folder: folder)
    }
}
