import Testing
@testable import MozDefEvent
@testable import Receiver

/// MozDef's keyMapping and event defaults, on the worked examples of MozDef's own tests
/// (mq/test_esworker_eventtask.py and the notes on loginput): the same fields, except where
/// mozdef-receiver is exact on purpose (substring matches, unknown keys kept).
@Suite struct NormalizerTests {
    let n = Normalizer(mozdefHostname: "receiver.test")
    let now = Timestamp(epochSeconds: 1_764_374_400, nanoseconds: 123_456_000, fractionDigits: 6)  // 2025-11-29T00:00:00.123456Z

    func normalize(_ json: String) throws -> JSONObject {
        guard case .object(let o) = try JSONReader.parse(json) else { throw Normalizer.Failure(description: "not an object") }
        return try n.normalize(o, now: now)
    }

    @Test func syslogNGDocument() throws {
        let o = try normalize(#"""
        {"CATEGORY":"syslog","DATE":"2026-10-27T14:01:12Z","FACILITY":"daemon","HOST":"ub_server","HOST_FROM":"10.1.20.139",
         "MESSAGE":"Stopped Getty on tty1.","PID":"1","PRIORITY":"info","PROGRAM":"systemd","SOURCE":"syslog_tcp",
         "SOURCEIP":"10.1.20.139","TAGS":".source.syslog_tcp"}
        """#)
        #expect(o["processid"] == "1")
        #expect(o["processname"] == "systemd")
        #expect(o["severity"] == "INFO")
        #expect(o["hostname"] == "ub_server")
        #expect(o["summary"] == "Stopped Getty on tty1.")
        #expect(o["source"] == "syslog_tcp")
        #expect(o["facility"] == "daemon")
        #expect(o["utctimestamp"] == "2026-10-27T14:01:12+00:00")
        #expect(o["timestamp"] == "2026-10-27T14:01:12+00:00")
        #expect(o["tags"] == .array([".source.syslog_tcp"]))
        #expect(o["category"] == "syslog")
        #expect(o["type"] == "event")
        #expect(o["receivedtimestamp"] == "2025-11-29T00:00:00.123456+00:00")
        #expect(o["mozdefhostname"] == "receiver.test")
        let d = try #require(o["details"]?.objectValue)
        #expect(d["eventsourceipaddress"] == "10.1.20.139")
        // MozDef drops HOST_FROM; kept here.
        #expect(d["host_from"] == "10.1.20.139")
    }

    @Test func logstashHekaAndNumbers() throws {
        var o = try normalize(#"{"@timestamp":"2014-01-30T19:24:43.000Z","message":"m","host":"h","type":"syslog","path":"/var/log/x","tags":"single"}"#)
        #expect(o["utctimestamp"] == "2014-01-30T19:24:43+00:00")
        #expect(o["summary"] == "m" && o["hostname"] == "h" && o["category"] == "syslog" && o["eventsource"] == "/var/log/x")
        #expect(o["tags"] == .array(["single"]))
        o = try normalize(#"{"Payload":"pl","Severity":7,"Pid":12,"Logger":"lg","Hostname":"h","Timestamp":1468443523000000000}"#)
        #expect(o["summary"] == "pl" && o["severity"] == "7" && o["processid"] == "12" && o["eventsource"] == "lg")
        #expect(o["utctimestamp"] == "2016-07-13T20:58:43+00:00")
        o = try normalize(#"{"timestamp":1385053862.3072,"summary":"s","payload":"p"}"#)
        #expect(o["utctimestamp"] == "2013-11-21T17:11:02.307200+00:00")
        #expect(o["details"]?.objectValue?["payload"] == "p")
    }

    @Test func detailsFlatteningAndCoercion() throws {
        let o = try normalize(#"{"details.count_int":"5","fields.ratio_float":"0.5","details.Name":"X","fields":{"k":"v"}}"#)
        let d = try #require(o["details"]?.objectValue)
        #expect(d["count_int"] == .int(5))
        #expect(d["ratio_float"] == .double(0.5))
        #expect(d["name"] == "X")
        #expect(d["k"] == "v")
    }

    /// Exact matching: `a` and `ta` are not payload and tags here (MozDef's substring tests are).
    @Test func exactKeysNotSubstrings() throws {
        let o = try normalize(#"{"a":"x","ta":"y","summary":"s"}"#)
        #expect(o["summary"] == "s")
        #expect(o["tags"] == .array([]))
        #expect(o["details"]?.objectValue?["a"] == "x")
        #expect(o["details"]?.objectValue?["ta"] == "y")
    }

    @Test func defaultsAndCustomEndpoints() throws {
        var o = try normalize(#"{"summary":"only"}"#)
        for k in ["category", "hostname", "processid", "processname", "severity", "source"] { #expect(o[k] == "UNKNOWN", "\(k)") }
        #expect(o["utctimestamp"] == o["receivedtimestamp"])
        #expect(o["mozdef"] == .object(JSONObject(members: [.init(key: "plugins", value: .array([]))])))
        // A custom endpoint's document is stored as sent, defaults added.
        o = try normalize(#"{"endpoint":"app","customendpoint":true,"Weird Key":1,"summary":"s"}"#)
        #expect(o["Weird Key"] == .int(1))
        #expect(o["endpoint"] == "app")
        #expect(o["category"] == "UNKNOWN")
    }

    /// What MozDef drops silently is refused with the key named.
    @Test(arguments: [#"{"timestamp":"not a date"}"#, #"{"tags":5}"#, #"{"details.n_int":"x"}"#])
    func refusedWithAReason(json: String) throws {
        #expect(throws: Normalizer.Failure.self) { try normalize(json) }
    }

    @Test func queries() throws {
        let o = try normalize(#"{"summary":"Failed password for root from 10.0.0.1","hostname":"bastion","details":{"sourceipaddress":"10.0.0.1"},"tags":["ssh","auth"]}"#)
        #expect(try EventQuery("summary:failed").matches(o))
        #expect(try EventQuery(#"summary:"password for root""#).matches(o))
        #expect(try !EventQuery(#"summary:"root for""#).matches(o))
        #expect(try EventQuery("hostname:bastion AND details.sourceipaddress:10.0.0.1").matches(o))
        #expect(try !EventQuery("hostname:Bastion").matches(o))
        #expect(try EventQuery("tags:ssh NOT hostname:other").matches(o))
        #expect(try !EventQuery("-tags:auth").matches(o))
        #expect(try EventQuery("").matches(o))
        #expect(throws: EventQuery.Failure.self) { try EventQuery(#"summary:"open"#) }
    }

    /// The rest of the Lucene subset: OR and precedence, groups, wildcards, ranges, _exists_, escapes.
    @Test func luceneSubset() throws {
        let o = try normalize(#"{"summary":"Failed password for root from 10.0.0.1 port 22","hostname":"bastion.example.com","details":{"sourceport":2222,"user":"r:oot","note":"Scan::Port_Scan","nums":[1,5]},"severity":"NOTICE"}"#)
        func q(_ s: String) throws -> Bool { try EventQuery(s).matches(o) }
        #expect(try q("hostname:other OR hostname:bastion.example.com"))
        #expect(try !q("hostname:other OR hostname:x AND severity:NOTICE"))
        #expect(try q("(hostname:other OR hostname:bastion.example.com) AND severity:NOTICE"))
        #expect(try q("hostname:bastion* AND hostname:*.example.com AND hostname:bastion.exampl?.com"))
        #expect(try !q("hostname:bastion"))
        #expect(try q("summary:pass* AND summary:fail*"))
        #expect(try q("details.sourceport:[1024 TO 65535] AND NOT details.sourceport:{2222 TO *]"))
        #expect(try q("details.sourceport:[2222 TO 2222]"))
        #expect(try !q("details.sourceport:{2222 TO 3000}"))
        #expect(try q("details.note:Scan\\:\\:Port_Scan"))
        #expect(try q(#"details.user:"r:oot""#))
        #expect(try q("_exists_:details.note AND NOT _exists_:details.missing"))
        #expect(try q("details.nums:5 && !details.nums:2 || hostname:none"))
        #expect(try q("+severity:NOTICE -hostname:other"))
        for bad in ["(hostname:x", "hostname:x)", "AND", "field:[1 2]", ":x"] {
            #expect(throws: EventQuery.Failure.self, "\(bad)") { try EventQuery(bad) }
        }
    }
}
