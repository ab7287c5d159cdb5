#include "api/sigv4.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/strings.h"

namespace sluice {
namespace {

constexpr char kAkid[] = "AKIDEXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kVectorDate[] = "20150830T123600Z";
constexpr char kVectorScope[] = "20150830/us-east-1/service/aws4_request";
constexpr char kSignatureMismatch[] =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

int64_t VectorTime() { return *ParseAmzDate(kVectorDate); }

class MapProvider : public CredentialProvider {
 public:
  void Add(Credential c) { creds_[c.access_key_id] = std::move(c); }
  std::optional<Credential> Lookup(const std::string& akid) const override {
    auto it = creds_.find(akid);
    if (it == creds_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, Credential> creds_;
};

// ---------------------------------------------------------------------------------------------
// AWS's published test suite (testdata/sigv4, see its README.md).

std::filesystem::path VectorDir() {
  return std::filesystem::path(__FILE__).parent_path() / "testdata" / "sigv4";
}

std::optional<std::string> ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct VectorRequest {
  std::string method;
  std::string target;  // as written in the vector (not percent-encoded)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

VectorRequest ParseVectorRequest(const std::string& text) {
  VectorRequest r;
  size_t blank = text.find("\n\n");
  std::string head = text.substr(0, blank);
  if (blank != std::string::npos) r.body = text.substr(blank + 2);
  std::vector<std::string> lines = Split(head, '\n');
  const std::string& start = lines[0];
  size_t sp1 = start.find(' ');
  size_t sp2 = start.rfind(' ');
  r.method = start.substr(0, sp1);
  r.target = start.substr(sp1 + 1, sp2 - sp1 - 1);
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t') && !r.headers.empty()) {
      // Continuation line: the suite treats it as one more value of the previous header.
      r.headers.emplace_back(r.headers.back().first, Trim(line));
      continue;
    }
    size_t colon = line.find(':');
    r.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  return r;
}

std::string EncodeComponent(const std::string& s, bool keep_slash) {
  Result<std::string> d = PercentDecode(s);
  return UriEncode(d.ok() ? *d : s, keep_slash);
}

// Encodes the path (unless `raw_path`) and each query name/value once, as a client would.
std::string WireTarget(const std::string& target, bool raw_path) {
  size_t q = target.find('?');
  std::string path = target.substr(0, q);
  std::string out = raw_path ? path : EncodeComponent(path, true);
  if (q == std::string::npos) return out;
  out += '?';
  bool first = true;
  for (const std::string& item : Split(target.substr(q + 1), '&')) {
    if (!first) out += '&';
    first = false;
    size_t eq = item.find('=');
    out += EncodeComponent(item.substr(0, eq), false);
    if (eq != std::string::npos) out += "=" + EncodeComponent(item.substr(eq + 1), false);
  }
  return out;
}

std::string Between(const std::string& s, const std::string& from, const std::string& to) {
  size_t b = s.find(from);
  if (b == std::string::npos) return "";
  b += from.size();
  return s.substr(b, s.find_first_of(to, b) - b);
}

struct VectorContext {
  bool normalize = true;
  std::string token;
};

VectorContext ReadContext(const std::filesystem::path& dir) {
  VectorContext c;
  std::optional<std::string> text = ReadFile(dir / "context.txt");
  EXPECT_TRUE(text.has_value()) << dir;
  for (const std::string& line : Split(text.value_or(""), '\n')) {
    if (line == "normalize=false") c.normalize = false;
    if (StartsWith(line, "token=")) c.token = line.substr(6);
  }
  return c;
}

const std::vector<std::string>& VectorCases() {
  static const std::vector<std::string> kCases = {
      "get-header-key-duplicate",
      "get-header-value-multiline",
      "get-header-value-order",
      "get-header-value-trim",
      "get-relative-normalized",
      "get-relative-relative-normalized",
      "get-relative-relative-unnormalized",
      "get-relative-unnormalized",
      "get-slash-dot-slash-normalized",
      "get-slash-dot-slash-unnormalized",
      "get-slash-normalized",
      "get-slash-pointless-dot-normalized",
      "get-slash-pointless-dot-unnormalized",
      "get-slash-unnormalized",
      "get-slashes-normalized",
      "get-slashes-unnormalized",
      "get-space-normalized",
      "get-space-unnormalized",
      "get-unreserved",
      "get-utf8",
      "get-vanilla",
      "get-vanilla-empty-query-key",
      "get-vanilla-query",
      "get-vanilla-query-order-encoded",
      "get-vanilla-query-order-key",
      "get-vanilla-query-order-key-case",
      "get-vanilla-query-order-value",
      "get-vanilla-query-unreserved",
      "get-vanilla-utf8-query",
      "get-vanilla-with-session-token",
      "post-header-key-case",
      "post-header-key-sort",
      "post-header-value-case",
      "post-sts-header-after",
      "post-sts-header-before",
      "post-vanilla",
      "post-vanilla-empty-query-value",
      "post-vanilla-query",
      "post-x-www-form-urlencoded",
      "post-x-www-form-urlencoded-parameters",
  };
  return kCases;
}

class AwsSuiteTest : public ::testing::TestWithParam<std::string> {
 protected:
  // Checks one form ("header" or "query") of the case. Returns false when the case has no
  // signed request of that form.
  bool CheckForm(const std::string& form) {
    const std::filesystem::path dir = VectorDir() / GetParam();
    std::optional<std::string> signed_text = ReadFile(dir / (form + "-signed-request.txt"));
    if (!signed_text) return false;
    SCOPED_TRACE(GetParam() + " / " + form);
    const bool presigned = form == "query";
    VectorContext ctx = ReadContext(dir);
    VectorRequest vr = ParseVectorRequest(*signed_text);

    // Generic services (normalize=true) UriEncode the wire path once more. The suite's
    // request lines are unencoded, so they play the part of the wire path here; S3 rules
    // (normalize=false) decode and re-encode, so those get a client-encoded path.
    std::string target = WireTarget(vr.target, /*raw_path=*/ctx.normalize);
    HttpRequestView view{vr.method, target, vr.headers, &vr.body};

    std::string signed_headers_list, signature;
    if (presigned) {
      signed_headers_list = *PercentDecode(Between(target, "X-Amz-SignedHeaders=", "&"));
      signature = Between(target, "X-Amz-Signature=", "&");
    } else {
      std::string auth;
      for (const auto& [k, v] : vr.headers) {
        if (k == "Authorization") auth = v;
      }
      signed_headers_list = Between(auth, "SignedHeaders=", ",");
      signature = Between(auth, "Signature=", ",\n");
    }
    std::vector<std::string> signed_headers = Split(signed_headers_list, ';');
    // The suite models generic services, whose presigned form also signs the body's hash.
    std::string payload = Sha256Hex(vr.body);
    for (const auto& [k, v] : vr.headers) {
      if (!presigned && ToLower(k) == "x-amz-content-sha256") payload = Trim(v);
    }

    std::string canonical = SigV4Verifier::CanonicalRequest(view, signed_headers, payload,
                                                            /*s3_style=*/!ctx.normalize, presigned);
    if (auto want = ReadFile(dir / (form + "-canonical-request.txt"))) {
      EXPECT_EQ(canonical, *want);
      ++asserted_canonical_;
    }
    std::string sts = SigV4Verifier::StringToSign(kVectorDate, kVectorScope, canonical);
    if (auto want = ReadFile(dir / (form + "-string-to-sign.txt"))) EXPECT_EQ(sts, *want);
    std::string key = SigV4Verifier::SigningKey(kSecret, "20150830", "us-east-1", "service");
    std::string computed = HexEncode(HmacSha256(key, sts));
    std::optional<std::string> want_sig = ReadFile(dir / (form + "-signature.txt"));
    EXPECT_TRUE(want_sig.has_value());
    EXPECT_EQ(computed, want_sig.value_or(""));
    EXPECT_EQ(signature, want_sig.value_or(""));

    // The vectors' credential scope names service "service", so Verify applies the generic
    // rules; the S3-rule twins were covered above through CanonicalRequest(s3_style=true).
    if (ctx.normalize) {
      MapProvider provider;
      provider.Add({kAkid, kSecret, ctx.token});
      FakeClock clock(VectorTime() * 1000000);
      SigV4Verifier verifier(&provider, &clock);
      Result<AuthContext> r = verifier.Verify(view);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (r.ok()) {
        EXPECT_EQ(r->access_key_id, kAkid);
        EXPECT_EQ(r->service, "service");
        EXPECT_EQ(r->region, "us-east-1");
        EXPECT_EQ(r->presigned, presigned);
        EXPECT_EQ(r->signature, signature);
        EXPECT_EQ(r->payload_hash, payload);
        EXPECT_EQ(r->amz_date, kVectorDate);
        EXPECT_EQ(r->signing_key, key);
      }
      EXPECT_EQ(SigV4Verifier::PeekService(view), std::optional<std::string>("service"));
    }
    return true;
  }

  int asserted_canonical_ = 0;
};

TEST_P(AwsSuiteTest, HeaderAndQueryForms) {
  ASSERT_TRUE(std::filesystem::is_directory(VectorDir() / GetParam())) << GetParam();
  bool header = CheckForm("header");
  bool query = CheckForm("query");
  EXPECT_TRUE(header || query) << "no signed request in " << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Vectors, AwsSuiteTest, ::testing::ValuesIn(VectorCases()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

TEST(AwsSuiteSanityTest, GetVanillaSignature) {
  EXPECT_EQ(ReadFile(VectorDir() / "get-vanilla" / "header-signature.txt").value_or(""),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(
      HexEncode(SigV4Verifier::SigningKey(kSecret, "20150830", "us-east-1", "service")),
      HexEncode(HmacSha256(
          HmacSha256(HmacSha256(HmacSha256(std::string("AWS4") + kSecret, "20150830"), "us-east-1"),
                     "service"),
          "aws4_request")));
}

// ---------------------------------------------------------------------------------------------
// Behaviour beyond the suite.

class SigV4Test : public ::testing::Test {
 protected:
  SigV4Test() : clock_(VectorTime() * 1000000), verifier_(&provider_, &clock_) {
    provider_.Add({kAkid, kSecret, ""});
    provider_.Add({"ASIASESSION", "sessionsecret", "the-session-token"});
  }

  int64_t Now() const { return clock_.NowSeconds(); }

  // A request signed by SignRequest at `when` (default: the clock's now).
  HttpRequestView Signed(const std::string& method, const std::string& target,
                         std::vector<std::pair<std::string, std::string>> headers,
                         const std::string* body, const std::string& service = "iotanalytics",
                         Credential cred = {kAkid, kSecret, ""},
                         std::optional<int64_t> when = std::nullopt) {
    HttpRequestView req{method, target, std::move(headers), body};
    SignOptions opts;
    opts.service = service;
    opts.region = "us-west-2";
    opts.now_seconds = when.value_or(Now());
    SignRequest(&req, cred, opts);
    return req;
  }

  HttpRequestView SimpleGet(const std::string& service = "iotanalytics") {
    return Signed("GET", "/datastores?maxResults=10", {{"Host", "localhost:8080"}}, nullptr,
                  service);
  }

  static std::string* Header(HttpRequestView* req, const std::string& lower) {
    for (auto& [k, v] : req->headers) {
      if (ToLower(k) == lower) return &v;
    }
    return nullptr;
  }

  Status VerifyStatus(const HttpRequestView& req) const { return verifier_.Verify(req).status(); }

  MapProvider provider_;
  FakeClock clock_;
  SigV4Verifier verifier_;
};

TEST_F(SigV4Test, SignRequestRoundTripFillsContext) {
  std::string body = R"({"datastoreName":"ds1"})";
  HttpRequestView req = Signed(
      "POST", "/datastores", {{"Host", "localhost"}, {"Content-Type", "application/json"}}, &body);
  std::string* auth = Header(&req, "authorization");
  ASSERT_NE(auth, nullptr);
  EXPECT_TRUE(StartsWith(*auth,
                         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-west-2/"
                         "iotanalytics/aws4_request, SignedHeaders=content-type;host;"
                         "x-amz-date, Signature="))
      << *auth;
  Result<AuthContext> r = verifier_.Verify(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->service, "iotanalytics");
  EXPECT_EQ(r->region, "us-west-2");
  EXPECT_FALSE(r->presigned);
  EXPECT_EQ(r->payload_hash, Sha256Hex(body));
  EXPECT_EQ(r->amz_date, kVectorDate);
  EXPECT_EQ(r->signing_key,
            SigV4Verifier::SigningKey(kSecret, "20150830", "us-west-2", "iotanalytics"));
  EXPECT_EQ(r->signature, auth->substr(auth->rfind('=') + 1));
}

TEST_F(SigV4Test, NonS3DoubleEncodesAndNormalisesPath) {
  HttpRequestView req =
      Signed("GET", "/things/a%20b/./x/../c//d", {{"Host", "localhost"}}, nullptr);
  std::string canonical = SigV4Verifier::CanonicalRequest(req, {"host"}, "HASH", false, false);
  EXPECT_TRUE(StartsWith(canonical, "GET\n/things/a%2520b/c/d\n\n")) << canonical;
  EXPECT_TRUE(verifier_.Verify(req).ok());

  // A client that encoded only once (canonical '%20') does not match the generic rule.
  HttpRequestView once{
      "GET", "/a%20b", {{"Host", "localhost"}, {"X-Amz-Date", kVectorDate}}, nullptr};
  std::string scope = "20150830/us-west-2/iotanalytics/aws4_request";
  std::string cr = "GET\n/a%20b\n\nhost:localhost\nx-amz-date:" + std::string(kVectorDate) +
                   "\n\nhost;x-amz-date\n" + Sha256Hex("");
  std::string sig = HexEncode(
      HmacSha256(SigV4Verifier::SigningKey(kSecret, "20150830", "us-west-2", "iotanalytics"),
                 SigV4Verifier::StringToSign(kVectorDate, scope, cr)));
  once.headers.emplace_back("Authorization",
                            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + scope +
                                ", SignedHeaders=host;x-amz-date, Signature=" + sig);
  EXPECT_EQ(VerifyStatus(once).code(), StatusCode::kInvalidSignature);
  // The same signature computed over the double-encoded path verifies.
  cr.replace(cr.find("%20"), 3, "%2520");
  sig = HexEncode(
      HmacSha256(SigV4Verifier::SigningKey(kSecret, "20150830", "us-west-2", "iotanalytics"),
                 SigV4Verifier::StringToSign(kVectorDate, scope, cr)));
  once.headers.back().second = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + scope +
                               ", SignedHeaders=host;x-amz-date, Signature=" + sig;
  EXPECT_TRUE(verifier_.Verify(once).ok());
}

TEST_F(SigV4Test, S3EncodesOnceWithoutNormalising) {
  std::string body = "hello";
  HttpRequestView req = Signed("PUT", "/bkt/dir/a%20b%2Bc~(x)/./..//k?uploads",
                               {{"Host", "localhost:9000"}}, &body, "s3");
  std::string canonical = SigV4Verifier::CanonicalRequest(req, {"host"}, "HASH", true, false);
  EXPECT_TRUE(StartsWith(canonical, "PUT\n/bkt/dir/a%20b%2Bc~%28x%29/./..//k\nuploads=\n"))
      << canonical;
  ASSERT_NE(Header(&req, "x-amz-content-sha256"), nullptr);
  EXPECT_EQ(*Header(&req, "x-amz-content-sha256"), Sha256Hex(body));
  Result<AuthContext> r = verifier_.Verify(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->service, "s3");
  EXPECT_EQ(r->payload_hash, Sha256Hex(body));
}

TEST_F(SigV4Test, CanonicalQueryRules) {
  HttpRequestView req{"GET", "/?b=2&a=%2f&a=1&flag&c=x+y&X-Amz-Signature=zz", {}, nullptr};
  std::string cr = SigV4Verifier::CanonicalRequest(req, {}, "P", false, false);
  EXPECT_EQ(cr, "GET\n/\nX-Amz-Signature=zz&a=%2F&a=1&b=2&c=x%2By&flag=\n\n\nP");
  cr = SigV4Verifier::CanonicalRequest(req, {}, "P", false, /*presigned=*/true);
  EXPECT_EQ(cr, "GET\n/\na=%2F&a=1&b=2&c=x%2By&flag=\n\n\nP");
}

TEST_F(SigV4Test, AcceptsAuthorizationWithoutSpacesAndInAnyOrder) {
  HttpRequestView req = SimpleGet();
  std::string* auth = Header(&req, "authorization");
  std::string cred = Between(*auth, "Credential=", ",");
  std::string sh = Between(*auth, "SignedHeaders=", ",");
  std::string sig = auth->substr(auth->rfind('=') + 1);
  *auth = "AWS4-HMAC-SHA256 Signature=" + sig + ",Credential=" + cred + ",SignedHeaders=" + sh;
  EXPECT_TRUE(verifier_.Verify(req).ok());
  *auth = "AWS4-HMAC-SHA256 SignedHeaders=" + sh + ",  Signature=" + sig + " ,Credential=" + cred;
  EXPECT_TRUE(verifier_.Verify(req).ok());
}

TEST_F(SigV4Test, MissingAuthentication) {
  HttpRequestView req{"GET", "/datastores?x=1", {{"Host", "localhost"}}, nullptr};
  Status s = VerifyStatus(req);
  EXPECT_EQ(s.code(), StatusCode::kMissingAuthentication);
  EXPECT_EQ(s.message(), "Missing Authentication Token");
  EXPECT_EQ(SigV4Verifier::PeekService(req), std::nullopt);
}

TEST_F(SigV4Test, IncompleteAuthorizationHeaderListsEachMissingPart) {
  const std::string cred = "Credential=AKIDEXAMPLE/20150830/us-west-2/iotanalytics/aws4_request";
  const std::string sh = "SignedHeaders=host;x-amz-date";
  const std::string sig = "Signature=0123";
  struct Case {
    std::string header;
    bool with_date;
    std::vector<std::string> missing;
  };
  const std::vector<Case> cases = {
      {"AWS4-HMAC-SHA256 " + sh + ", " + sig, true, {"'Credential'"}},
      {"AWS4-HMAC-SHA256 " + cred + ", " + sig, true, {"'SignedHeaders'"}},
      {"AWS4-HMAC-SHA256 " + cred + ", " + sh, true, {"'Signature'"}},
      {"AWS4-HMAC-SHA256 " + cred + ", " + sh + ", " + sig, false, {"'X-Amz-Date' or a 'Date'"}},
      {"AWS4-HMAC-SHA256 " + cred, true, {"'Signature' parameter", "'SignedHeaders' parameter"}},
      {"AWS4-HMAC-SHA256", false, {"'Credential'", "'Signature'", "'SignedHeaders'", "'Date'"}},
  };
  for (const Case& c : cases) {
    HttpRequestView req{"GET", "/", {{"Host", "localhost"}, {"Authorization", c.header}}, nullptr};
    if (c.with_date) req.headers.emplace_back("X-Amz-Date", kVectorDate);
    Status s = VerifyStatus(req);
    EXPECT_EQ(s.code(), StatusCode::kIncompleteSignature) << c.header;
    for (const std::string& m : c.missing) {
      EXPECT_NE(s.message().find(m), std::string::npos) << s.message();
    }
    EXPECT_NE(s.message().find("Authorization=" + c.header), std::string::npos) << s.message();
    // Parts that are present are not reported.
    if (c.header.find("Credential=") != std::string::npos) {
      EXPECT_EQ(s.message().find("requires 'Credential'"), std::string::npos) << s.message();
    }
  }
  // AWS's exact wording for a header carrying only the algorithm and a credential.
  HttpRequestView req{"GET",
                      "/",
                      {{"Host", "localhost"},
                       {"X-Amz-Date", kVectorDate},
                       {"Authorization", "AWS4-HMAC-SHA256 " + cred}},
                      nullptr};
  EXPECT_EQ(VerifyStatus(req).message(),
            "Authorization header requires 'Signature' parameter. Authorization header requires "
            "'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 " +
                cred);
}

TEST_F(SigV4Test, MalformedCredentialScope) {
  for (const std::string& credential :
       {"AKIDEXAMPLE/20150830/us-west-2/aws4_request", "AKIDEXAMPLE/20150830/us-west-2/svc/aws5",
        "AKIDEXAMPLE/2015-08-30/us-west-2/svc/aws4_request", "/20150830/us-west-2/svc/aws4_request",
        "AKIDEXAMPLE"}) {
    HttpRequestView req{"GET",
                        "/",
                        {{"Host", "localhost"},
                         {"X-Amz-Date", kVectorDate},
                         {"Authorization", "AWS4-HMAC-SHA256 Credential=" + credential +
                                               ", SignedHeaders=host;x-amz-date, Signature=00"}},
                        nullptr};
    EXPECT_EQ(VerifyStatus(req).code(), StatusCode::kIncompleteSignature) << credential;
  }
}

TEST_F(SigV4Test, UnsupportedAlgorithms) {
  for (const std::string& header :
       {std::string("AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/20150830/svc/aws4_request, "
                    "SignedHeaders=host;x-amz-date;x-amz-region-set, Signature=3045"),
        std::string("AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg="), std::string("Bearer abc")}) {
    HttpRequestView req{
        "GET",
        "/",
        {{"Host", "localhost"}, {"X-Amz-Date", kVectorDate}, {"Authorization", header}},
        nullptr};
    Status s = VerifyStatus(req);
    EXPECT_EQ(s.code(), StatusCode::kIncompleteSignature) << header;
    EXPECT_NE(s.message().find("AWS4-HMAC-SHA256"), std::string::npos) << s.message();
  }
  // SigV2 query form.
  HttpRequestView v2{"GET",
                     "/bkt/key?AWSAccessKeyId=AKIDEXAMPLE&Expires=1440938760&Signature=x",
                     {{"Host", "localhost"}},
                     nullptr};
  EXPECT_EQ(VerifyStatus(v2).code(), StatusCode::kIncompleteSignature);
}

TEST_F(SigV4Test, UnknownAccessKey) {
  HttpRequestView req = Signed("GET", "/", {{"Host", "localhost"}}, nullptr, "iotanalytics",
                               {"AKIDUNKNOWN", kSecret, ""});
  Status s = VerifyStatus(req);
  EXPECT_EQ(s.code(), StatusCode::kUnrecognizedClient);
  EXPECT_EQ(s.message(), "The security token included in the request is invalid.");
}

TEST_F(SigV4Test, BadSignatures) {
  std::string body = R"({"a":1})";
  auto fresh = [&]() {
    return Signed("POST", "/pipelines/p1?x=1", {{"Host", "localhost"}, {"X-Custom", "v"}}, &body);
  };
  ASSERT_TRUE(verifier_.Verify(fresh()).ok());

  std::string tampered_body = R"({"a":2})";
  HttpRequestView req = fresh();
  req.body = &tampered_body;
  EXPECT_EQ(VerifyStatus(req).code(), StatusCode::kInvalidSignature);
  EXPECT_EQ(VerifyStatus(req).message(), kSignatureMismatch);

  req = fresh();
  *Header(&req, "x-custom") = "w";
  EXPECT_EQ(VerifyStatus(req).code(), StatusCode::kInvalidSignature);

  req = fresh();
  req.target = "/pipelines/p2?x=1";
  EXPECT_EQ(VerifyStatus(req).code(), StatusCode::kInvalidSignature);

  req = fresh();
  req.target = "/pipelines/p1?x=2";
  EXPECT_EQ(VerifyStatus(req).code(), StatusCode::kInvalidSignature);

  req = fresh();
  req.method = "PUT";
  EXPECT_EQ(VerifyStatus(req).code(), StatusCode::kInvalidSignature);

  req = Signed("POST", "/pipelines/p1?x=1", {{"Host", "localhost"}}, &body, "iotanalytics",
               {kAkid, "not-the-secret", ""});
  EXPECT_EQ(VerifyStatus(req).code(), StatusCode::kInvalidSignature);
  EXPECT_EQ(VerifyStatus(req).message(), kSignatureMismatch);

  req = fresh();
  std::string* auth = Header(&req, "authorization");
  char& last = auth->back();
  last = last == '0' ? '1' : '0';
  EXPECT_EQ(VerifyStatus(req).code(), StatusCode::kInvalidSignature);
}

TEST_F(SigV4Test, ClockSkewWindow) {
  auto at = [&](int64_t offset) {
    return Signed("GET", "/", {{"Host", "localhost"}}, nullptr, "iotanalytics",
                  {kAkid, kSecret, ""}, Now() + offset);
  };
  EXPECT_TRUE(verifier_.Verify(at(-15 * 60)).ok());
  EXPECT_TRUE(verifier_.Verify(at(15 * 60)).ok());
  EXPECT_TRUE(verifier_.Verify(at(-14 * 60 - 59)).ok());

  Status s = VerifyStatus(at(-15 * 60 - 1));
  EXPECT_EQ(s.code(), StatusCode::kInvalidSignature);
  EXPECT_EQ(s.message(),
            "Signature expired: 20150830T122059Z is now earlier than 20150830T122100Z "
            "(20150830T123600Z - 15 min.)");
  s = VerifyStatus(at(15 * 60 + 1));
  EXPECT_EQ(s.code(), StatusCode::kInvalidSignature);
  EXPECT_EQ(s.message(),
            "Signature not yet current: 20150830T125101Z is still later than 20150830T125100Z "
            "(20150830T123600Z + 15 min.)");

  // A custom window.
  SigV4Options opts;
  opts.max_clock_skew_seconds = 5 * 60;
  SigV4Verifier strict(&provider_, &clock_, opts);
  EXPECT_EQ(strict.Verify(at(-6 * 60)).status().code(), StatusCode::kInvalidSignature);
  EXPECT_NE(strict.Verify(at(-6 * 60)).status().message().find("- 5 min."), std::string::npos);
}

TEST_F(SigV4Test, DateHeaderFallbackAndScopeDateMismatch) {
  // Signed with an RFC 1123 Date header instead of X-Amz-Date.
  HttpRequestView req{
      "GET", "/", {{"Host", "localhost"}, {"Date", "Sun, 30 Aug 2015 12:36:00 GMT"}}, nullptr};
  std::string scope = "20150830/us-east-1/iotanalytics/aws4_request";
  std::string cr =
      SigV4Verifier::CanonicalRequest(req, {"date", "host"}, Sha256Hex(""), false, false);
  std::string sig = HexEncode(
      HmacSha256(SigV4Verifier::SigningKey(kSecret, "20150830", "us-east-1", "iotanalytics"),
                 SigV4Verifier::StringToSign(kVectorDate, scope, cr)));
  req.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + scope +
                                                ", SignedHeaders=date;host, Signature=" + sig);
  Result<AuthContext> r = verifier_.Verify(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->amz_date, kVectorDate);

  // Scope date differs from X-Amz-Date.
  HttpRequestView bad = SimpleGet();
  std::string* auth = Header(&bad, "authorization");
  auth->replace(auth->find("/20150830/"), 10, "/20150829/");
  Status s = VerifyStatus(bad);
  EXPECT_EQ(s.code(), StatusCode::kInvalidSignature);
  EXPECT_EQ(s.message(),
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
            "HTTP: '20150829' != '20150830', from '20150830T123600Z'.");

  // Unparsable X-Amz-Date.
  bad = SimpleGet();
  *Header(&bad, "x-amz-date") = "2015-08-30T12:36:00Z";
  EXPECT_EQ(VerifyStatus(bad).code(), StatusCode::kIncompleteSignature);
}

TEST_F(SigV4Test, HostMustBeSigned) {
  HttpRequestView req{"GET", "/", {{"Host", "localhost"}, {"X-Amz-Date", kVectorDate}}, nullptr};
  std::string scope = "20150830/us-east-1/iotanalytics/aws4_request";
  std::string cr =
      SigV4Verifier::CanonicalRequest(req, {"x-amz-date"}, Sha256Hex(""), false, false);
  std::string sig = HexEncode(
      HmacSha256(SigV4Verifier::SigningKey(kSecret, "20150830", "us-east-1", "iotanalytics"),
                 SigV4Verifier::StringToSign(kVectorDate, scope, cr)));
  req.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + scope +
                                                ", SignedHeaders=x-amz-date, Signature=" + sig);
  Status s = VerifyStatus(req);
  EXPECT_EQ(s.code(), StatusCode::kIncompleteSignature);
  EXPECT_NE(s.message().find("'Host'"), std::string::npos) << s.message();
}

TEST_F(SigV4Test, SignedHeaderMissingFromRequest) {
  HttpRequestView req = Signed("GET", "/", {{"Host", "localhost"}, {"X-Extra", "1"}}, nullptr);
  ASSERT_TRUE(verifier_.Verify(req).ok());
  req.headers.erase(std::remove_if(req.headers.begin(), req.headers.end(),
                                   [](const auto& kv) { return kv.first == "X-Extra"; }),
                    req.headers.end());
  Status s = VerifyStatus(req);
  EXPECT_EQ(s.code(), StatusCode::kIncompleteSignature);
  EXPECT_NE(s.message().find("x-extra"), std::string::npos) << s.message();
}

TEST_F(SigV4Test, SessionTokens) {
  const Credential session{"ASIASESSION", "sessionsecret", "the-session-token"};
  HttpRequestView ok =
      Signed("GET", "/", {{"Host", "localhost"}}, nullptr, "iotanalytics", session);
  ASSERT_NE(Header(&ok, "x-amz-security-token"), nullptr);
  EXPECT_NE(Header(&ok, "authorization")->find("x-amz-security-token"), std::string::npos);
  EXPECT_TRUE(verifier_.Verify(ok).ok());

  // Token required but absent.
  Credential no_token = session;
  no_token.session_token.clear();
  HttpRequestView missing =
      Signed("GET", "/", {{"Host", "localhost"}}, nullptr, "iotanalytics", no_token);
  Status s = VerifyStatus(missing);
  EXPECT_EQ(s.code(), StatusCode::kUnrecognizedClient);
  EXPECT_EQ(s.message(), "The security token included in the request is invalid.");

  // Token mismatched (validly signed with the wrong token).
  Credential wrong = session;
  wrong.session_token = "another-token";
  EXPECT_EQ(
      VerifyStatus(Signed("GET", "/", {{"Host", "localhost"}}, nullptr, "iotanalytics", wrong))
          .code(),
      StatusCode::kUnrecognizedClient);

  // Long-lived key, but the request carries a token.
  Credential extra{kAkid, kSecret, "unexpected"};
  EXPECT_EQ(
      VerifyStatus(Signed("GET", "/", {{"Host", "localhost"}}, nullptr, "iotanalytics", extra))
          .code(),
      StatusCode::kUnrecognizedClient);

  // Presigned with a token.
  SignOptions opts;
  opts.now_seconds = Now();
  std::string url = PresignUrl("GET", "localhost", "/x", session, opts, 60);
  EXPECT_NE(url.find("X-Amz-Security-Token=the-session-token"), std::string::npos) << url;
  HttpRequestView pre{"GET", url.substr(url.find('/', 7)), {{"Host", "localhost"}}, nullptr};
  EXPECT_TRUE(verifier_.Verify(pre).ok());
  pre.target.replace(pre.target.find("the-session-token"), 17, "the-session-tokeX");
  EXPECT_EQ(VerifyStatus(pre).code(), StatusCode::kUnrecognizedClient);
}

class PresignTest : public SigV4Test {
 protected:
  HttpRequestView Presigned(int64_t expires, const std::string& service = "s3",
                            std::optional<int64_t> when = std::nullopt) {
    SignOptions opts;
    opts.service = service;
    opts.region = "eu-central-1";
    opts.now_seconds = when.value_or(Now());
    url_ = PresignUrl("GET", "localhost:9000", "/bkt/a%20b.txt?response-content-type=text%2Fplain",
                      {kAkid, kSecret, ""}, opts, expires);
    return {"GET",
            url_.substr(std::string("http://localhost:9000").size()),
            {{"Host", "localhost:9000"}},
            nullptr};
  }
  std::string url_;
};

TEST_F(PresignTest, ValidUrl) {
  HttpRequestView req = Presigned(3600);
  EXPECT_TRUE(StartsWith(url_,
                         "http://localhost:9000/bkt/a%20b.txt?response-content-type="
                         "text%2Fplain&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
                         "AKIDEXAMPLE%2F20150830%2Feu-central-1%2Fs3%2Faws4_request&"
                         "X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&"
                         "X-Amz-SignedHeaders=host&X-Amz-Signature="))
      << url_;
  Result<AuthContext> r = verifier_.Verify(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->presigned);
  EXPECT_EQ(r->service, "s3");
  EXPECT_EQ(r->region, "eu-central-1");
  EXPECT_EQ(r->payload_hash, "UNSIGNED-PAYLOAD");
  EXPECT_EQ(SigV4Verifier::PeekService(req), std::optional<std::string>("s3"));

  // A presigned PUT carries an unsigned body; tampering with the query is still caught.
  std::string body = "anything";
  req.body = &body;
  EXPECT_TRUE(verifier_.Verify(req).ok());
  req.target.replace(req.target.find("text%2Fplain"), 12, "text%2Fhtml0");
  EXPECT_EQ(VerifyStatus(req).code(), StatusCode::kInvalidSignature);

  // https:// in the host is kept as the scheme; the generic-service rules work too.
  SignOptions opts;
  opts.now_seconds = Now();
  std::string url =
      PresignUrl("GET", "https://example.com", "/a/./b", {kAkid, kSecret, ""}, opts, 60);
  ASSERT_TRUE(StartsWith(url, "https://example.com/a/./b?X-Amz-Algorithm=")) << url;
  HttpRequestView generic{"GET",
                          url.substr(std::string("https://example.com").size()),
                          {{"host", "example.com"}},
                          nullptr};
  EXPECT_TRUE(verifier_.Verify(generic).ok());
}

TEST_F(PresignTest, Expiry) {
  HttpRequestView req = Presigned(60);
  clock_.AdvanceSeconds(60);
  EXPECT_TRUE(verifier_.Verify(req).ok());  // now == date + expires is still valid
  clock_.AdvanceSeconds(1);
  Status s = VerifyStatus(req);
  EXPECT_EQ(s.code(), StatusCode::kInvalidSignature);
  EXPECT_EQ(s.message(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z "
            "(20150830T123701Z - 60 sec.)");
}

TEST_F(PresignTest, DateInTheFuture) {
  EXPECT_TRUE(verifier_.Verify(Presigned(60, "s3", Now() + 15 * 60)).ok());
  Status s = VerifyStatus(Presigned(60, "s3", Now() + 15 * 60 + 1));
  EXPECT_EQ(s.code(), StatusCode::kInvalidSignature);
  EXPECT_TRUE(StartsWith(s.message(), "Signature not yet current: ")) << s.message();
}

TEST_F(PresignTest, BadExpires) {
  EXPECT_TRUE(verifier_.Verify(Presigned(604800)).ok());
  for (const std::string& value : {"0", "604801", "-5", "abc", "", "1.5"}) {
    HttpRequestView req = Presigned(3600);
    size_t pos = req.target.find("X-Amz-Expires=3600");
    req.target.replace(pos, 18, "X-Amz-Expires=" + value);
    Status s = VerifyStatus(req);
    EXPECT_EQ(s.code(), StatusCode::kIncompleteSignature) << value;
    EXPECT_NE(s.message().find("X-Amz-Expires"), std::string::npos) << s.message();
  }
}

TEST_F(PresignTest, MissingParameters) {
  for (const std::string& name : {"X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                                  "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Algorithm"}) {
    HttpRequestView req = Presigned(3600);
    size_t pos = req.target.find(name + "=");
    size_t end = req.target.find('&', pos);
    req.target.erase(pos, end == std::string::npos ? std::string::npos : end - pos + 1);
    Status s = VerifyStatus(req);
    EXPECT_EQ(s.code(), StatusCode::kIncompleteSignature) << name << ": " << req.target;
    EXPECT_NE(s.message().find("'" + name + "'"), std::string::npos) << s.message();
  }
  HttpRequestView req = Presigned(3600);
  req.target.replace(req.target.find("AWS4-HMAC-SHA256"), 16, "AWS4-HMAC-SHA512");
  EXPECT_EQ(VerifyStatus(req).code(), StatusCode::kIncompleteSignature);

  // Header and query auth at once.
  req = Presigned(3600);
  req.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=x");
  EXPECT_EQ(VerifyStatus(req).code(), StatusCode::kIncompleteSignature);
}

TEST_F(SigV4Test, S3PayloadHashRules) {
  std::string body = "object bytes";
  // Required for s3 in the header form.
  HttpRequestView req = Signed("PUT", "/bkt/k", {{"Host", "localhost"}}, &body, "s3");
  ASSERT_TRUE(verifier_.Verify(req).ok());
  HttpRequestView no_hash{"PUT", "/bkt/k", {{"Host", "localhost"}}, &body};
  SignOptions opts;
  opts.service = "s3";
  opts.now_seconds = Now();
  SignRequest(&no_hash, {kAkid, kSecret, ""}, opts);
  no_hash.headers.erase(
      std::remove_if(no_hash.headers.begin(), no_hash.headers.end(),
                     [](const auto& kv) { return ToLower(kv.first) == "x-amz-content-sha256"; }),
      no_hash.headers.end());
  EXPECT_EQ(VerifyStatus(no_hash).code(), StatusCode::kIncompleteSignature);

  // Signed hash that does not match the body that arrived.
  std::string other = "other bytes";
  req.body = &other;
  Status s = VerifyStatus(req);
  EXPECT_EQ(s.code(), StatusCode::kInvalidSignature);
  EXPECT_NE(s.message().find("x-amz-content-sha256"), std::string::npos) << s.message();
  // Without a body (streamed later) the signature alone is checked.
  req.body = nullptr;
  EXPECT_TRUE(verifier_.Verify(req).ok());

  // UNSIGNED-PAYLOAD is used verbatim, for s3 and for other services.
  for (const std::string service : {"s3", "iotanalytics"}) {
    HttpRequestView u = Signed(
        "PUT", "/bkt/k", {{"Host", "localhost"}, {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"}},
        &body, service);
    Result<AuthContext> r = verifier_.Verify(u);
    ASSERT_TRUE(r.ok()) << service << ": " << r.status().ToString();
    EXPECT_EQ(r->payload_hash, "UNSIGNED-PAYLOAD");
  }

  // Non-S3: a hex x-amz-content-sha256 must equal the body's hash.
  HttpRequestView j =
      Signed("POST", "/datasets", {{"Host", "localhost"}, {"x-amz-content-sha256", Sha256Hex("x")}},
             &body, "iotanalytics");
  s = VerifyStatus(j);
  EXPECT_EQ(s.code(), StatusCode::kInvalidSignature);
  EXPECT_NE(s.message().find("x-amz-content-sha256"), std::string::npos) << s.message();
}

TEST_F(SigV4Test, PeekService) {
  HttpRequestView req = SimpleGet("iotdata");
  EXPECT_EQ(SigV4Verifier::PeekService(req), std::optional<std::string>("iotdata"));
  HttpRequestView q{"GET",
                    "/x?X-Amz-Credential=AKID%2F20150830%2Fus-east-1%2Fexecute-api%2Faws4_request",
                    {},
                    nullptr};
  EXPECT_EQ(SigV4Verifier::PeekService(q), std::optional<std::string>("execute-api"));
  HttpRequestView garbage{
      "GET", "/", {{"authorization", "AWS4-HMAC-SHA256 Credential=nope"}}, nullptr};
  EXPECT_EQ(SigV4Verifier::PeekService(garbage), std::nullopt);
  HttpRequestView v2{"GET", "/", {{"Authorization", "AWS AKID:sig"}}, nullptr};
  EXPECT_EQ(SigV4Verifier::PeekService(v2), std::nullopt);
}

TEST_F(SigV4Test, CanonicalHeaderValues) {
  HttpRequestView req{
      "GET",
      "/",
      {{"Host", "h"}, {"My-H", "  a   b\t c  "}, {"my-h", "\"x   y\""}, {"X-Fold", "v1\r\n   v2"}},
      nullptr};
  EXPECT_EQ(SigV4Verifier::CanonicalRequest(req, {"host", "my-h", "x-fold"}, "P", false, false),
            "GET\n/\n\nhost:h\nmy-h:a b c,\"x y\"\nx-fold:v1 v2\n\nhost;my-h;x-fold\nP");
}

}  // namespace
}  // namespace sluice
