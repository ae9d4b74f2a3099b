#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Expands command-line inputs: files as given, directories recursively in sorted
/// (byte-wise) order so a folder of archives converts reproducibly.
public enum InputPaths {
    /// Inputs that cannot be listed are reported, not fatal: the others still convert.
    public static func expand(_ args: [String]) -> (paths: [String], errors: [InputError]) {
        var out: [String] = []
        var errors: [InputError] = []
        for a in args {
            if a == "-" { out.append(a); continue }
            var st = stat()
            guard stat(a, &st) == 0 else {
                errors.append(InputError(path: a, reason: String(cString: strerror(errno))))
                continue
            }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                walk(a, into: &out, errors: &errors)
            } else {
                out.append(a)
            }
        }
        return (out, errors)
    }

    private static func walk(_ dir: String, into out: inout [String], errors: inout [InputError]) {
        guard let d = opendir(dir) else {
            errors.append(InputError(path: dir, reason: String(cString: strerror(errno))))
            return
        }
        var names: [String] = []
        while let ent = readdir(d) {
            let name = withUnsafePointer(to: ent.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        closedir(d)
        names.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let prefix = dir.hasSuffix("/") ? dir : dir + "/"
        for n in names {
            let p = prefix + n
            var st = stat()
            // lstat: symlinked directories are not followed (no loops); symlinked files are read.
            guard lstat(p, &st) == 0 else {
                errors.append(InputError(path: p, reason: String(cString: strerror(errno))))
                continue
            }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: walk(p, into: &out, errors: &errors)
            case S_IFREG: out.append(p)
            case S_IFLNK:
                var target = stat()
                if stat(p, &target) != 0 {
                    errors.append(InputError(path: p, reason: "broken symbolic link"))
                } else if (target.st_mode & S_IFMT) == S_IFREG {
                    out.append(p)
                }
            default: continue  // sockets, fifos, devices: not log files
            }
        }
    }

    /// Last modification time (epoch seconds), or nil for stdin or on error.
    public static func modificationTime(_ path: String) -> Int64? {
        guard path != "-" else { return nil }
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int64(st.st_mtim.tv_sec)
    }
}
