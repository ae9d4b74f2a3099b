import ArgumentParser
import Pipeline

@main
struct MozDefShip: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mozdef-ship",
        abstract: "Convert security logs into MozDef JSON events.",
        version: "0.1.0",
        subcommands: [Convert.self, Tail.self]
    )

    /// Usage errors exit 2, as the man page documents (ArgumentParser's default is 64).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                printError(fullMessage(for: error))
                Self.exit(withError: ExitCode(2))
            }
            Self.exit(withError: error)
        }
    }
}
