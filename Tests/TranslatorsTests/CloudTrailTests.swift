import Foundation
import Testing
import TestSupport
@testable import MozDefEvent
@testable import Translators

/// CloudTrail records as MozDef's CloudTrail worker and plugins shape them.
@Suite struct CloudTrailTests {
    static func translate(_ record: String) throws -> [String: Any] {
        var t = CloudTrailTranslator(mapping: builtinMappings.mapping(.cloudtrail))
        return try translated(&t, record)
    }

    @Test func shape() throws {
        let o = try Self.translate(#"""
        {"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA:bob","sessionContext":{"sessionIssuer":{"type":"Role","userName":"Admin"}}},
         "eventTime":"2026-11-28T10:00:01Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1",
         "sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.0","requestParameters":{"instancesSet":{"items":[{"instanceId":"i-1"}]}},"responseElements":null}
        """#)
        #expect(o["category"] as? String == "cloudtrail")
        #expect(o["source"] as? String == "cloudtrail")
        #expect(o["hostname"] as? String == "ec2.amazonaws.com")
        #expect(o["severity"] as? String == "INFO")
        #expect(o["summary"] as? String == "203.0.113.7 performed DescribeInstances in ec2.amazonaws.com")
        #expect(o["utctimestamp"] as? String == "2026-11-28T10:00:01+00:00")
        let d = try #require(o["details"] as? [String: Any])
        #expect(d["sourceipaddress"] as? String == "203.0.113.7")
        #expect(d["useragent"] as? String == "aws-cli/2.0")
        #expect(d["username"] as? String == "Admin")
        #expect(d["eventverb"] as? String == "Describe")
        #expect(d["eventreadonly"] as? Bool == true)
        #expect(d["success"] as? Bool == true)
        #expect(d["eventtime"] == nil)
        let rp = try #require(d["requestparameters"] as? [String: Any])
        #expect(((rp["instancesset"] as? [String: Any])?["items"] as? [[String: Any]])?.first?["instanceid"] as? String == "i-1")
        #expect((d["useridentity"] as? [String: Any])?["principalid"] as? String == "AROA:bob")
    }

    @Test func successAndUsername() throws {
        var d = try #require(try Self.translate(#"{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","userIdentity":{"type":"IAMUser","userName":"alice","principalId":"AIDA1"},"responseElements":{"ConsoleLogin":"Failure"},"sourceIPAddress":"198.51.100.2"}"#)["details"] as? [String: Any])
        #expect(d["success"] as? Bool == false)
        #expect(d["username"] as? String == "alice")
        #expect(d["eventreadonly"] as? Bool == false)
        d = try #require(try Self.translate(#"{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","userIdentity":{"type":"Root","principalId":"123"},"responseElements":{"ConsoleLogin":"Success"}}"#)["details"] as? [String: Any])
        #expect(d["success"] as? Bool == true)
        #expect(d["username"] as? String == "123")
        d = try #require(try Self.translate(#"{"eventName":"PutObject","eventSource":"s3.amazonaws.com","errorCode":"AccessDenied","userIdentity":{"type":"AWSService"}}"#)["details"] as? [String: Any])
        #expect(d["success"] as? Bool == false)
        #expect(d["username"] == nil)
        #expect(d["errorcode"] as? String == "AccessDenied")
    }

    /// Where the user name is looked for, found while userIdentity is copied: its own
    /// userName (any case), else sessionContext.sessionIssuer.userName, else principalId;
    /// one written with escapes, or one deeper or inside an array, does not count.
    @Test(arguments: [
        (#"{"UserName":"Bob","principalId":"P1"}"#, "Bob"),
        (#"{"principalId":"P1","sessionContext":{"sessionIssuer":{"userName":"Role1"}},"userName":"Alice"}"#, "Alice"),
        (#"{"userName":"al\u0069ce","principalId":"P1","sessionContext":{"sessionIssuer":{"userName":"Role1"}}}"#, "Role1"),
        (#"{"principalId":"P1","sessionContext":{"attributes":{"userName":"x"},"sessionIssuer":{"type":"Role"}}}"#, "P1"),
        (#"{"principalId":"P1","onBehalfOf":[{"userName":"x"}],"x":{"userName":"y"}}"#, "P1"),
        (#"{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}"#, nil),
    ] as [(String, String?)])
    func usernameFromUserIdentity(identity: String, expected: String?) throws {
        let d = try #require(try Self.translate(#"{"eventName":"GetObject","eventSource":"s3.amazonaws.com","userIdentity":\#(identity)}"#)["details"] as? [String: Any])
        #expect(d["username"] as? String == expected)
    }

    /// MozDef's raw_value text is Python's json.dumps: ", " and ": " separators, non-ASCII
    /// as \uXXXX (surrogate pairs above the BMP), the escapes Python writes.
    @Test func rawValueTextIsPythonJSON() throws {
        let d = try #require(try Self.translate(#"{"eventName":"X","additionalEventData":{"A":"é😀\n\"q\"","b":[1,true,null],"C":{}}, "apiVersion":"2016-11-15"}"#)["details"] as? [String: Any])
        let extra = try #require(d["additionaleventdata"] as? [String: Any])
        #expect(extra["raw_value"] as? String == #"{"a": "\u00e9\ud83d\ude00\n\"q\"", "b": [1, true, null], "c": {}}"#)
        #expect((d["apiversion"] as? [String: Any])?["raw_value"] as? String == #""2016-11-15""#)
    }

    @Test func digestIsSkippedWithANote() {
        do {
            _ = try Self.translate(#"{"awsAccountId":"1","digestStartTime":"2026-11-28T10:00:00Z","digestEndTime":"2026-11-28T11:00:00Z","logFiles":[]}"#)
            Issue.record("a digest made an event")
        } catch let e as TranslationError {
            #expect(e.isNoEvent)
            #expect(e.note?.contains("digest") == true)
        } catch {
            Issue.record("\(error)")
        }
    }

    struct PluginCase: CustomTestStringConvertible, Sendable {
        var name: String
        var json: String
        var testDescription: String { name }
    }

    static let pluginCases: [PluginCase] = {
        guard Corpus.available, let a = try? Corpus.json("cloudtrail/mozdef-cloudtrail/cloudtrail_plugin_cases.json") as? [[String: Any]] else { return [] }
        return a.compactMap { c in
            // Cases about events that are not CloudTrail's test MozDef's plugin guard, which a translator does not need.
            guard (c["input"] as? [String: Any])?["source"] as? String == "cloudtrail" else { return nil }
            return PluginCase(name: c["test"] as? String ?? "?", json: String(decoding: try! JSONSerialization.data(withJSONObject: c), as: UTF8.self))
        }
    }()

    /// MozDef's cloudtrail plugin cases: the details become a record's fields.
    @Test(.enabled(if: Corpus.available, Comment(rawValue: Corpus.missing)), arguments: pluginCases)
    func mozdefPlugin(_ c: PluginCase) throws {
        let spec = try #require(try JSONSerialization.jsonObject(with: Data(c.json.utf8)) as? [String: Any])
        var record = try #require((spec["input"] as? [String: Any])?["details"] as? [String: Any])
        record["eventSource"] = "ec2.amazonaws.com"
        record["eventName"] = "RunInstances"
        let o = try Self.translate(String(decoding: try JSONSerialization.data(withJSONObject: record), as: UTF8.self))
        let d = try #require(o["details"] as? [String: Any])
        let want = try #require((spec["expected_output"] as? [String: Any])?["details"] as? [String: Any])
        for (k, v) in want {
            #expect(jsonEqual(d[k], v), "\(k): got \(describe(d[k])), want \(describe(v))")
        }
    }
}
