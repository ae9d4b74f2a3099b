#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MozDefEvent

/// The compiled mapping of every format: the built-in ones, or a directory's files
/// (`--mappings DIR`: `<format>.map` replaces that format's built-in mapping).
public struct MappingSet: Sendable {
    public var mappings: [InputFormat: Mapping]

    public func mapping(_ f: InputFormat) -> Mapping { mappings[f]! }

    public static func builtin() -> MappingSet {
        // The built-in files are tested to compile; a failure here is a build defect.
        do {
            return try load(directory: nil)
        } catch {
            fatalError("built-in mapping: \(error)")
        }
    }

    /// Loads and compiles every mapping; a bad file is an error naming file and line.
    public static func load(directory: String?) throws(MappingFile.Error) -> MappingSet {
        var out: [InputFormat: Mapping] = [:]
        var names = Set(InputFormat.mapped.map(\.rawValue))
        if let directory {
            guard let entries = listDirectory(directory) else {
                throw MappingFile.Error(file: directory, line: 0, reason: "cannot read the mappings directory")
            }
            for name in entries.sorted() where name.hasSuffix(".map") {
                let format = String(name.dropLast(4))
                let path = directory + "/" + name
                guard let f = InputFormat(rawValue: format), InputFormat.mapped.contains(f) else {
                    throw MappingFile.Error(file: path, line: 0, reason: "no such format '\(format)' (expected one of \(InputFormat.mapped.map(\.rawValue).joined(separator: ", ")))")
                }
                guard let text = Files.text(path) else {
                    throw MappingFile.Error(file: path, line: 0, reason: "cannot read the file")
                }
                out[f] = try Mapping(MappingFile(parsing: text, name: path))
                names.remove(format)
            }
        }
        for n in names.sorted() {
            let f = InputFormat(rawValue: n)!
            out[f] = try Mapping(MappingFile(parsing: BuiltinMappings.files[n] ?? "", name: "built-in \(n).map"))
        }
        return MappingSet(mappings: out)
    }

    static func listDirectory(_ path: String) -> [String]? {
        guard let d = opendir(path) else { return nil }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
