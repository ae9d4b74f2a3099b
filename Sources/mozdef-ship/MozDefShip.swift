import ArgumentParser

@main
struct MozDefShip: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mozdef-ship",
        abstract: "Convert security logs into MozDef JSON events.",
        version: "0.1.0",
        subcommands: [Convert.self]
    )
}
