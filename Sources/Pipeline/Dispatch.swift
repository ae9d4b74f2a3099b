import MozDefEvent
import Translators

/// The translators of one input, and which one a record goes to: the `--format`
/// one, or (auto) the format each record looks like. Concrete fields, not existentials:
/// the per-record call is direct.
struct Dispatch {
    let fixed: InputFormat?
    let mappings: MappingSet
    let syslogParser: SyslogParser
    let strict: Bool
    let zeekPath: String?
    var syslog: SyslogTranslator
    var cef: CEFTranslator?
    var zeek: ZeekTranslator?
    var gelf: GELFTranslator?
    var cloudtrail: CloudTrailTranslator?
    var mozdef = MozDefPassthrough()
    /// Auto: a Zeek TSV header was read in this input, so data lines may be Zeek's.
    var zeekHeaderSeen = false

    init(format: InputFormat, mappings: MappingSet, syslogParser: SyslogParser, strict: Bool, zeekPath: String?) {
        fixed = format == .auto ? nil : format
        self.mappings = mappings
        self.syslogParser = syslogParser
        self.strict = strict
        self.zeekPath = zeekPath
        syslog = SyslogTranslator(parser: syslogParser, mapping: mappings.mapping(.syslog))
    }

    /// Translates one record; returns the format used (for unparsed events and rejects).
    mutating func translate(_ r: UnsafeBufferPointer<UInt8>, context: RecordContext, into e: inout Event) -> (InputFormat, TranslationError?) {
        var f = fixed ?? FormatDetector.detect(r)
        if fixed == nil, zeekHeaderSeen, r.first == UInt8(ascii: "#") { f = .zeek }  // #fields, #types, #close...
        if fixed == nil, zeekHeaderSeen, f == .syslog || f == .cef {
            // A Zeek TSV data line, unless its columns do not fit the header.
            ensureZeek()
            do throws(TranslationError) {
                try zeek!.translate(r, context: context, into: &e)
                return (.zeek, nil)
            } catch {}
        }
        do throws(TranslationError) {
            switch f {
            case .auto, .syslog: f = .syslog; try syslog.translate(r, context: context, into: &e)
            case .cef:
                if cef == nil { cef = CEFTranslator(mapping: mappings.mapping(.cef), syslog: syslogParser) }
                try cef!.translate(r, context: context, into: &e)
            case .zeek:
                if fixed == nil, r.first == UInt8(ascii: "#") { zeekHeaderSeen = true }  // the header's first line
                ensureZeek()
                try zeek!.translate(r, context: context, into: &e)
            case .gelf:
                if gelf == nil { gelf = GELFTranslator(mapping: mappings.mapping(.gelf), strict: strict) }
                try gelf!.translate(r, context: context, into: &e)
            case .cloudtrail:
                if cloudtrail == nil { cloudtrail = CloudTrailTranslator(mapping: mappings.mapping(.cloudtrail)) }
                try cloudtrail!.translate(r, context: context, into: &e)
            case .mozdef:
                try mozdef.translate(r, context: context, into: &e)
            }
            return (f, nil)
        } catch {
            return (f, error)
        }
    }

    mutating func ensureZeek() {
        if zeek == nil { zeek = ZeekTranslator(mapping: mappings.mapping(.zeek), defaultPath: zeekPath) }
    }
}
