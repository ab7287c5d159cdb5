// AWS Signature Version 4: canonicalisation, verification and client-side signing.
// See sigv4.h for the contract. Everything here is a pure function of its inputs plus the
// injected Clock and CredentialProvider, so the verifier is safe to share between threads.

#include "api/sigv4.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string_view>

#include "common/strings.h"

namespace sluice {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

constexpr char kSignatureMismatch[] =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";
constexpr char kInvalidToken[] = "The security token included in the request is invalid.";
constexpr char kUnsupportedAlgorithm[] =
    "The authorization mechanism you have provided is not supported. Please use "
    "AWS4-HMAC-SHA256.";

Status Incomplete(std::string m) { return {StatusCode::kIncompleteSignature, std::move(m)}; }
Status Invalid(std::string m) { return {StatusCode::kInvalidSignature, std::move(m)}; }
Status Unrecognized() { return {StatusCode::kUnrecognizedClient, kInvalidToken}; }

// Services whose canonical URI is the path as sent (no dot-segment removal, encoded once).
bool IsS3Service(std::string_view service) {
  return service == "s3" || service == "s3-object-lambda" || service == "s3-outposts" ||
         service == "s3express";
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

// Splits a raw request-target into path and query (without the '?').
void SplitTarget(std::string_view target, std::string_view* path, std::string_view* query) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) {
    *path = target;
    *query = {};
  } else {
    *path = target.substr(0, q);
    *query = target.substr(q + 1);
  }
}

// Decodes when possible; a malformed escape is kept literally (the signature then decides).
std::string DecodeOrRaw(std::string_view s) {
  Result<std::string> d = PercentDecode(s);
  return d.ok() ? std::move(d).value() : std::string(s);
}

struct QueryParam {
  std::string raw_name;
  std::string name;   // decoded
  std::string value;  // decoded
};

std::vector<QueryParam> ParseQuery(std::string_view query) {
  std::vector<QueryParam> out;
  if (query.empty()) return out;
  for (const std::string& item : Split(query, '&')) {
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string_view raw_name = std::string_view(item).substr(0, eq);
    std::string_view raw_value =
        eq == std::string::npos ? std::string_view() : std::string_view(item).substr(eq + 1);
    out.push_back({std::string(raw_name), DecodeOrRaw(raw_name), DecodeOrRaw(raw_value)});
  }
  return out;
}

const QueryParam* FindParam(const std::vector<QueryParam>& params, std::string_view name) {
  for (const QueryParam& p : params) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

// First value of a header (case-insensitive name), or nullptr.
const std::string* FindHeader(const HttpRequestView& req, std::string_view lower_name) {
  for (const auto& [name, value] : req.headers) {
    if (name.size() == lower_name.size() && ToLower(name) == lower_name) return &value;
  }
  return nullptr;
}

// Trims and collapses every internal whitespace run (including folded line breaks) to one space.
std::string CanonicalHeaderValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (char c : v) {
    if (IsSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// botocore's remove_dot_segments: drops empty and "." segments, ".." pops, keeps the leading
// and (when anything is left) trailing slash.
std::string NormalizePath(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string> out;
  for (std::string& seg : Split(path, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else {
      out.push_back(std::move(seg));
    }
  }
  std::string result = path.front() == '/' ? "/" : "";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i > 0) result += '/';
    result += out[i];
  }
  if (path.back() == '/' && !out.empty()) result += '/';
  return result.empty() ? "/" : result;
}

std::string CanonicalUri(std::string_view raw_path, bool s3_style) {
  if (s3_style) {
    if (raw_path.empty()) return "/";
    return UriEncode(DecodeOrRaw(raw_path), /*keep_slash=*/true);
  }
  return UriEncode(NormalizePath(raw_path), /*keep_slash=*/true);
}

std::string CanonicalQuery(std::string_view raw_query, bool presigned) {
  std::vector<std::pair<std::string, std::string>> items;
  for (const QueryParam& p : ParseQuery(raw_query)) {
    if (presigned && p.name == "X-Amz-Signature") continue;
    items.emplace_back(UriEncode(p.name, false), UriEncode(p.value, false));
  }
  std::sort(items.begin(), items.end());
  std::string out;
  for (const auto& [name, value] : items) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string JoinSignedHeaders(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out += ';';
    out += n;
  }
  return out;
}

std::string FormatSkew(int64_t seconds) {
  if (seconds % 60 == 0) return std::to_string(seconds / 60) + " min.";
  return std::to_string(seconds) + " sec.";
}

// The pieces of a SigV4 credential scope.
struct Scope {
  std::string access_key_id;
  std::string date;  // YYYYMMDD
  std::string region;
  std::string service;

  std::string ToString() const {
    return date + "/" + region + "/" + service + "/" + std::string(kTerminator);
  }
};

// "AKID/20150830/us-east-1/service/aws4_request"; the AKID may itself contain '/'.
Result<Scope> ParseCredential(std::string_view credential, std::string_view where) {
  std::vector<std::string> parts = Split(credential, '/');
  std::string malformed = std::string(where) +
                          " is malformed; the Credential is mal-formed; expecting "
                          "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".";
  if (parts.size() < 5) return Incomplete(malformed);
  size_t n = parts.size();
  if (parts[n - 1] != kTerminator) {
    return Incomplete("Credential should be scoped with a valid terminator: 'aws4_request', not '" +
                      parts[n - 1] + "'.");
  }
  Scope scope;
  for (size_t i = 0; i + 4 < n; ++i) {
    if (i > 0) scope.access_key_id += '/';
    scope.access_key_id += parts[i];
  }
  scope.date = parts[n - 4];
  scope.region = parts[n - 3];
  scope.service = parts[n - 2];
  bool date_ok = scope.date.size() == 8 &&
                 std::all_of(scope.date.begin(), scope.date.end(),
                             [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (scope.access_key_id.empty() || !date_ok || scope.region.empty() || scope.service.empty()) {
    return Incomplete(malformed);
  }
  return scope;
}

Result<std::vector<std::string>> ParseSignedHeaders(std::string_view list, std::string_view where) {
  std::vector<std::string> names;
  for (const std::string& n : Split(list, ';')) {
    std::string t = ToLower(Trim(n));
    if (t.empty()) {
      return Incomplete(std::string(where) + " contains an empty entry in SignedHeaders.");
    }
    names.push_back(std::move(t));
  }
  if (std::find(names.begin(), names.end(), "host") == names.end()) {
    return Incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  return names;
}

struct ParsedAuth {
  Scope scope;
  std::vector<std::string> signed_headers;
  std::string signature;
  std::string amz_date;  // YYYYMMDDTHHMMSSZ
  int64_t request_time = 0;
  std::string raw_date;  // date as found in the request (for messages)
  int64_t expires = 0;   // presigned only
  bool presigned = false;
};

// Splits "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." into its parts.
struct AuthHeaderParts {
  std::string algorithm;
  std::optional<std::string> credential, signed_headers, signature;
};

Result<AuthHeaderParts> SplitAuthorization(std::string_view header) {
  AuthHeaderParts out;
  std::string value = Trim(header);
  size_t sp = value.find_first_of(" \t");
  out.algorithm = value.substr(0, sp);
  if (out.algorithm != kAlgorithm) return Incomplete(kUnsupportedAlgorithm);
  std::string rest = sp == std::string::npos ? "" : value.substr(sp + 1);
  for (const std::string& raw : Split(rest, ',')) {
    std::string part = Trim(raw);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string::npos) {
      return Incomplete("Invalid key=value pair (missing equal-sign) in Authorization header: '" +
                        part + "'.");
    }
    std::string key = Trim(part.substr(0, eq));
    std::string val = Trim(part.substr(eq + 1));
    if (key == "Credential") {
      out.credential = val;
    } else if (key == "SignedHeaders") {
      out.signed_headers = val;
    } else if (key == "Signature") {
      out.signature = val;
    }
    // Unknown components are ignored, as AWS does for forward compatibility.
  }
  return out;
}

// Request time from X-Amz-Date, falling back to an RFC 1123 Date header.
struct RequestDate {
  std::string raw;
  std::string amz;  // empty when unparsable
  int64_t epoch = 0;
};

std::optional<RequestDate> HeaderDate(const HttpRequestView& req) {
  RequestDate d;
  if (const std::string* x = FindHeader(req, "x-amz-date")) {
    d.raw = Trim(*x);
    if (std::optional<int64_t> t = ParseAmzDate(d.raw)) {
      d.epoch = *t;
      d.amz = d.raw;
    }
    return d;
  }
  if (const std::string* h = FindHeader(req, "date")) {
    d.raw = Trim(*h);
    if (std::optional<int64_t> t = ParseHttpDate(d.raw)) {
      d.epoch = *t;
      d.amz = FormatAmzDate(*t);
    }
    return d;
  }
  return std::nullopt;
}

Status CheckScopeDate(const Scope& scope, const std::string& amz_date, const std::string& raw) {
  if (amz_date.compare(0, 8, scope.date) != 0) {
    return Invalid(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '" +
        scope.date + "' != '" + amz_date.substr(0, 8) + "', from '" + raw + "'.");
  }
  return Status::Ok();
}

Result<ParsedAuth> ParseHeaderAuth(const HttpRequestView& req, const std::string& header) {
  ASSIGN_OR_RETURN(AuthHeaderParts parts, SplitAuthorization(header));
  std::optional<RequestDate> date = HeaderDate(req);
  std::string missing;
  if (!parts.credential) missing += "Authorization header requires 'Credential' parameter. ";
  if (!parts.signature) missing += "Authorization header requires 'Signature' parameter. ";
  if (!parts.signed_headers) missing += "Authorization header requires 'SignedHeaders' parameter. ";
  if (!date) {
    missing +=
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  }
  if (!missing.empty()) return Incomplete(missing + "Authorization=" + Trim(header));

  ParsedAuth out;
  ASSIGN_OR_RETURN(out.scope, ParseCredential(*parts.credential, "Authorization header"));
  ASSIGN_OR_RETURN(out.signed_headers,
                   ParseSignedHeaders(*parts.signed_headers, "Authorization header"));
  out.signature = *parts.signature;
  if (date->amz.empty()) {
    return Incomplete("Date must be in ISO-8601 'basic format'. Got '" + date->raw +
                      "'. See http://en.wikipedia.org/wiki/ISO_8601");
  }
  out.amz_date = date->amz;
  out.raw_date = date->raw;
  out.request_time = date->epoch;
  return out;
}

Result<ParsedAuth> ParseQueryAuth(const std::vector<QueryParam>& params, const SigV4Options& opts) {
  static const char* kRequired[] = {"X-Amz-Algorithm", "X-Amz-Credential",    "X-Amz-Signature",
                                    "X-Amz-Date",      "X-Amz-SignedHeaders", "X-Amz-Expires"};
  std::string missing;
  for (const char* name : kRequired) {
    if (!FindParam(params, name)) {
      missing += "AWS query-string parameters must include '" + std::string(name) + "'. ";
    }
  }
  if (!missing.empty()) return Incomplete(missing + "Re-examine the query-string parameters.");
  if (FindParam(params, "X-Amz-Algorithm")->value != kAlgorithm) {
    return Incomplete(kUnsupportedAlgorithm);
  }

  ParsedAuth out;
  out.presigned = true;
  ASSIGN_OR_RETURN(out.scope, ParseCredential(FindParam(params, "X-Amz-Credential")->value,
                                              "X-Amz-Credential parameter"));
  ASSIGN_OR_RETURN(out.signed_headers,
                   ParseSignedHeaders(FindParam(params, "X-Amz-SignedHeaders")->value,
                                      "X-Amz-SignedHeaders parameter"));
  out.signature = FindParam(params, "X-Amz-Signature")->value;

  const std::string& raw_date = FindParam(params, "X-Amz-Date")->value;
  std::optional<int64_t> t = ParseAmzDate(raw_date);
  if (!t) {
    return Incomplete("X-Amz-Date must be in ISO-8601 'basic format' (YYYYMMDDTHHMMSSZ). Got '" +
                      raw_date + "'.");
  }
  out.amz_date = raw_date;
  out.raw_date = raw_date;
  out.request_time = *t;

  const std::string& raw_expires = FindParam(params, "X-Amz-Expires")->value;
  bool numeric = !raw_expires.empty() && raw_expires.size() <= 12 &&
                 std::all_of(raw_expires.begin(), raw_expires.end(),
                             [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (!numeric) {
    return Incomplete("X-Amz-Expires should be a positive integer number of seconds. Got '" +
                      raw_expires + "'.");
  }
  out.expires = std::stoll(raw_expires);
  if (out.expires < 1) return Incomplete("X-Amz-Expires must be at least 1 second.");
  if (out.expires > opts.max_presign_expires_seconds) {
    return Incomplete(
        "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires "
        "must be less than " +
        std::to_string(opts.max_presign_expires_seconds) + " seconds");
  }
  return out;
}

Status PayloadMismatch(const std::string& claimed, const std::string& computed) {
  return Invalid(
      "The provided 'x-amz-content-sha256' header does not match what was computed. "
      "ClientComputedContentSHA256: " +
      claimed + ", ServerComputedContentSHA256: " + computed);
}

const std::string& EmptyString() {
  static const std::string kEmpty;
  return kEmpty;
}

}  // namespace

SigV4Verifier::SigV4Verifier(const CredentialProvider* creds, const Clock* clock, SigV4Options opts)
    : creds_(creds), clock_(clock), opts_(opts) {}

std::string SigV4Verifier::CanonicalRequest(const HttpRequestView& req,
                                            const std::vector<std::string>& signed_headers,
                                            const std::string& payload_hash, bool s3_style,
                                            bool presigned) {
  std::string_view path, query;
  SplitTarget(req.target, &path, &query);
  std::string out = req.method;
  out += '\n';
  out += CanonicalUri(path, s3_style);
  out += '\n';
  out += CanonicalQuery(query, presigned);
  out += '\n';
  for (const std::string& name : signed_headers) {
    std::string joined;
    bool first = true;
    for (const auto& [hname, hvalue] : req.headers) {
      if (ToLower(hname) != name) continue;
      if (!first) joined += ',';
      joined += CanonicalHeaderValue(hvalue);
      first = false;
    }
    out += name;
    out += ':';
    out += joined;
    out += '\n';
  }
  out += '\n';
  out += JoinSignedHeaders(signed_headers);
  out += '\n';
  out += payload_hash;
  return out;
}

std::string SigV4Verifier::StringToSign(const std::string& amz_date, const std::string& scope,
                                        const std::string& canonical_request) {
  return std::string(kAlgorithm) + "\n" + amz_date + "\n" + scope + "\n" +
         Sha256Hex(canonical_request);
}

std::string SigV4Verifier::SigningKey(const std::string& secret, const std::string& date,
                                      const std::string& region, const std::string& service) {
  std::string k = HmacSha256("AWS4" + secret, date);
  k = HmacSha256(k, region);
  k = HmacSha256(k, service);
  return HmacSha256(k, kTerminator);
}

std::optional<std::string> SigV4Verifier::PeekService(const HttpRequestView& req) {
  std::string credential;
  if (const std::string* auth = FindHeader(req, "authorization")) {
    Result<AuthHeaderParts> parts = SplitAuthorization(*auth);
    if (!parts.ok() || !parts->credential) return std::nullopt;
    credential = *parts->credential;
  } else {
    std::string_view path, query;
    SplitTarget(req.target, &path, &query);
    std::vector<QueryParam> params = ParseQuery(query);
    const QueryParam* c = FindParam(params, "X-Amz-Credential");
    if (!c) return std::nullopt;
    credential = c->value;
  }
  Result<Scope> scope = ParseCredential(credential, "Credential");
  if (!scope.ok()) return std::nullopt;
  return scope->service;
}

Result<AuthContext> SigV4Verifier::Verify(const HttpRequestView& req) const {
  std::string_view path, query;
  SplitTarget(req.target, &path, &query);
  std::vector<QueryParam> params = ParseQuery(query);
  const std::string* auth_header = FindHeader(req, "authorization");
  const QueryParam* algorithm_param = FindParam(params, "X-Amz-Algorithm");

  // 1. Which scheme, and parse it.
  ParsedAuth auth;
  if (auth_header && algorithm_param) {
    return Incomplete(
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the "
        "Authorization header should be specified.");
  }
  if (auth_header) {
    ASSIGN_OR_RETURN(auth, ParseHeaderAuth(req, *auth_header));
  } else if (algorithm_param || FindParam(params, "X-Amz-Credential") ||
             FindParam(params, "X-Amz-Signature")) {
    ASSIGN_OR_RETURN(auth, ParseQueryAuth(params, opts_));
  } else if (FindParam(params, "AWSAccessKeyId") && FindParam(params, "Signature")) {
    return Incomplete(kUnsupportedAlgorithm);  // SigV2 query form
  } else {
    return Status(StatusCode::kMissingAuthentication, "Missing Authentication Token");
  }
  RETURN_IF_ERROR(CheckScopeDate(auth.scope, auth.amz_date, auth.raw_date));

  // 2. Who is it?
  std::optional<Credential> cred = creds_->Lookup(auth.scope.access_key_id);
  if (!cred) return Unrecognized();
  const std::string* token = nullptr;
  if (auth.presigned) {
    if (const QueryParam* p = FindParam(params, "X-Amz-Security-Token")) token = &p->value;
  }
  if (!token) token = FindHeader(req, "x-amz-security-token");
  if (cred->session_token.empty()) {
    if (token) return Unrecognized();
  } else if (!token || !ConstantTimeEquals(*token, cred->session_token)) {
    return Unrecognized();
  }

  // 3. When?
  const int64_t now = clock_->NowSeconds();
  const int64_t skew = opts_.max_clock_skew_seconds;
  if (auth.request_time > now + skew) {
    return Invalid("Signature not yet current: " + auth.amz_date + " is still later than " +
                   FormatAmzDate(now + skew) + " (" + FormatAmzDate(now) + " + " +
                   FormatSkew(skew) + ")");
  }
  if (auth.presigned) {
    if (now > auth.request_time + auth.expires) {
      return Invalid("Signature expired: " + auth.amz_date + " is now earlier than " +
                     FormatAmzDate(now - auth.expires) + " (" + FormatAmzDate(now) + " - " +
                     std::to_string(auth.expires) + " sec.)");
    }
  } else if (auth.request_time < now - skew) {
    return Invalid("Signature expired: " + auth.amz_date + " is now earlier than " +
                   FormatAmzDate(now - skew) + " (" + FormatAmzDate(now) + " - " +
                   FormatSkew(skew) + ")");
  }

  // 4. Every signed header must be present.
  for (const std::string& name : auth.signed_headers) {
    if (!FindHeader(req, name)) {
      return Incomplete("The header '" + name +
                        "' is listed in SignedHeaders but is not present in the request.");
    }
  }

  // 5. Payload hash line. A presigned URL for a generic service signs the hash of the (usually
  // empty) body, as botocore's SigV4QueryAuth and AWS's test suite do; clients that copy S3's
  // UNSIGNED-PAYLOAD are accepted as a second candidate.
  const bool s3 = IsS3Service(auth.scope.service);
  const std::string& body = req.body ? *req.body : EmptyString();
  std::vector<std::string> payload_candidates;
  bool compare_body = false;
  const std::string* content_sha = FindHeader(req, "x-amz-content-sha256");
  if (auth.presigned) {
    if (const QueryParam* q = FindParam(params, "X-Amz-Content-Sha256")) {
      payload_candidates.push_back(q->value);
    } else if (content_sha) {
      payload_candidates.push_back(Trim(*content_sha));
    } else if (s3) {
      payload_candidates.emplace_back(kUnsignedPayload);
    } else {
      payload_candidates.push_back(Sha256Hex(body));
      payload_candidates.emplace_back(kUnsignedPayload);
    }
    compare_body = IsHex64(payload_candidates.front()) && req.body != nullptr &&
                   payload_candidates.size() == 1;
  } else if (s3) {
    if (!content_sha) {
      return Incomplete("Missing required header for this request: x-amz-content-sha256");
    }
    payload_candidates.push_back(Trim(*content_sha));
    compare_body = IsHex64(payload_candidates.front()) && req.body != nullptr;
  } else if (content_sha && !IsHex64(Trim(*content_sha))) {
    payload_candidates.push_back(Trim(*content_sha));  // UNSIGNED-PAYLOAD etc., verbatim
  } else {
    payload_candidates.push_back(Sha256Hex(body));
    if (content_sha && ToLower(Trim(*content_sha)) != payload_candidates.front()) {
      return PayloadMismatch(Trim(*content_sha), payload_candidates.front());
    }
  }

  // 6. Signature.
  const std::string scope = auth.scope.ToString();
  const std::string key =
      SigningKey(cred->secret_access_key, auth.scope.date, auth.scope.region, auth.scope.service);
  const std::string* payload_hash = nullptr;
  std::string expected;
  for (const std::string& candidate : payload_candidates) {
    std::string canonical =
        CanonicalRequest(req, auth.signed_headers, candidate, s3, auth.presigned);
    expected = HexEncode(HmacSha256(key, StringToSign(auth.amz_date, scope, canonical)));
    if (ConstantTimeEquals(expected, auth.signature)) {
      payload_hash = &candidate;
      break;
    }
  }
  if (!payload_hash) return Invalid(kSignatureMismatch);

  if (compare_body) {
    std::string computed = Sha256Hex(body);
    if (ToLower(*payload_hash) != computed) return PayloadMismatch(*payload_hash, computed);
  }

  AuthContext ctx;
  ctx.access_key_id = auth.scope.access_key_id;
  ctx.region = auth.scope.region;
  ctx.service = auth.scope.service;
  ctx.presigned = auth.presigned;
  ctx.payload_hash = *payload_hash;
  ctx.signature = expected;
  ctx.signing_key = key;
  ctx.amz_date = auth.amz_date;
  return ctx;
}

namespace {

void EraseHeader(HttpRequestView* req, std::string_view lower_name) {
  auto& h = req->headers;
  h.erase(std::remove_if(h.begin(), h.end(),
                         [&](const auto& kv) { return ToLower(kv.first) == lower_name; }),
          h.end());
}

}  // namespace

void SignRequest(HttpRequestView* req, const Credential& cred, const SignOptions& opts) {
  const bool s3 = opts.s3_style || IsS3Service(opts.service);
  const std::string amz_date = FormatAmzDate(opts.now_seconds);
  EraseHeader(req, "authorization");
  EraseHeader(req, "x-amz-date");
  EraseHeader(req, "x-amz-security-token");
  req->headers.emplace_back("X-Amz-Date", amz_date);
  if (!cred.session_token.empty()) {
    req->headers.emplace_back("X-Amz-Security-Token", cred.session_token);
  }
  const std::string& body = req->body ? *req->body : EmptyString();
  // An x-amz-content-sha256 the caller set (e.g. UNSIGNED-PAYLOAD) is the payload line.
  std::string payload_hash;
  if (const std::string* existing = FindHeader(*req, "x-amz-content-sha256")) {
    payload_hash = Trim(*existing);
  } else {
    payload_hash = Sha256Hex(body);
    if (s3) req->headers.emplace_back("X-Amz-Content-SHA256", payload_hash);
  }

  // Like botocore: sign every header except a few that proxies and clients rewrite.
  std::vector<std::string> names;
  for (const auto& kv : req->headers) {
    std::string n = ToLower(kv.first);
    if (n == "expect" || n == "transfer-encoding" || n == "user-agent" || n == "x-amzn-trace-id") {
      continue;
    }
    names.push_back(std::move(n));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());

  std::string date = amz_date.substr(0, 8);
  std::string scope =
      date + "/" + opts.region + "/" + opts.service + "/" + std::string(kTerminator);
  std::string canonical = SigV4Verifier::CanonicalRequest(*req, names, payload_hash, s3, false);
  std::string key =
      SigV4Verifier::SigningKey(cred.secret_access_key, date, opts.region, opts.service);
  std::string signature =
      HexEncode(HmacSha256(key, SigV4Verifier::StringToSign(amz_date, scope, canonical)));
  req->headers.emplace_back("Authorization", std::string(kAlgorithm) +
                                                 " Credential=" + cred.access_key_id + "/" + scope +
                                                 ", SignedHeaders=" + JoinSignedHeaders(names) +
                                                 ", Signature=" + signature);
}

std::string PresignUrl(const std::string& method, const std::string& host,
                       const std::string& path_and_query, const Credential& cred,
                       const SignOptions& opts, int64_t expires_seconds) {
  const bool s3 = opts.s3_style || IsS3Service(opts.service);
  std::string scheme = "http://";
  std::string authority = host;
  for (std::string_view prefix : {"http://", "https://"}) {
    if (StartsWith(host, prefix)) {
      scheme = std::string(prefix);
      authority = host.substr(prefix.size());
    }
  }
  const std::string amz_date = FormatAmzDate(opts.now_seconds);
  const std::string date = amz_date.substr(0, 8);
  const std::string scope =
      date + "/" + opts.region + "/" + opts.service + "/" + std::string(kTerminator);

  std::string target = path_and_query.empty() ? "/" : path_and_query;
  if (target.find('?') == std::string::npos) {
    target += '?';
  } else if (target.back() != '?' && target.back() != '&') {
    target += '&';
  }
  target += "X-Amz-Algorithm=" + std::string(kAlgorithm);
  target += "&X-Amz-Credential=" + UriEncode(cred.access_key_id + "/" + scope, false);
  target += "&X-Amz-Date=" + amz_date;
  target += "&X-Amz-Expires=" + std::to_string(expires_seconds);
  target += "&X-Amz-SignedHeaders=host";
  if (!cred.session_token.empty()) {
    target += "&X-Amz-Security-Token=" + UriEncode(cred.session_token, false);
  }

  // Like botocore: S3 presigns UNSIGNED-PAYLOAD, other services the (empty) body's hash.
  HttpRequestView req{method, target, {{"host", authority}}, nullptr};
  std::string payload = s3 ? std::string(kUnsignedPayload) : Sha256Hex("");
  std::string canonical =
      SigV4Verifier::CanonicalRequest(req, {"host"}, payload, s3, /*presigned=*/true);
  std::string key =
      SigV4Verifier::SigningKey(cred.secret_access_key, date, opts.region, opts.service);
  std::string signature =
      HexEncode(HmacSha256(key, SigV4Verifier::StringToSign(amz_date, scope, canonical)));
  return scheme + authority + target + "&X-Amz-Signature=" + signature;
}

}  // namespace sluice
