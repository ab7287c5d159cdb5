// AWS Signature Version 4 verification (header form and presigned query form).
// The verifier decides *who* sent a request and *which API* it is for (the credential
// scope's service name); the router uses that service name to pick a handler.
// Thread-safety: SigV4Verifier is immutable after construction and may be shared by all
// I/O threads; the CredentialProvider it is given must be thread-safe.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace sluice {

struct Credential {
  std::string access_key_id;
  std::string secret_access_key;
  // Empty for long-lived keys. When set, requests must carry the same token in
  // X-Amz-Security-Token (header or query).
  std::string session_token;
};

class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  virtual std::optional<Credential> Lookup(const std::string& access_key_id) const = 0;
};

// The parts of an HTTP request the verifier needs, exactly as received on the wire.
struct HttpRequestView {
  std::string method;                                        // "GET"
  std::string target;                                        // raw request-target: "/a%20b?x=1&y"
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order, any case
  const std::string* body = nullptr;                         // may be null for an empty body
};

struct AuthContext {
  std::string access_key_id;
  std::string region;
  std::string service;  // credential-scope service: "iotanalytics", "s3", "execute-api", "iotdata"
  bool presigned = false;
  // The payload-hash line used: hex digest, "UNSIGNED-PAYLOAD" or a STREAMING-* literal.
  std::string payload_hash;
  std::string signature;    // hex; seeds aws-chunked chunk signatures (S3 issue)
  std::string signing_key;  // raw kSigning bytes; for chunk signatures
  std::string amz_date;     // YYYYMMDDTHHMMSSZ
};

struct SigV4Options {
  int64_t max_clock_skew_seconds = 15 * 60;
  int64_t max_presign_expires_seconds = 604800;
};

class SigV4Verifier {
 public:
  SigV4Verifier(const CredentialProvider* creds, const Clock* clock, SigV4Options opts = {});

  // Verifies the request. Errors use these codes (the api layer maps them to AWS shapes):
  //  kMissingAuthentication - no Authorization header and no X-Amz-Algorithm query param
  //  kIncompleteSignature   - malformed/partial Authorization header or presign params,
  //                           missing date, signed headers missing 'host', etc.
  //  kUnrecognizedClient    - unknown access key id, or session token missing/mismatched
  //  kInvalidSignature      - signature mismatch, clock skew beyond the window, expired
  //                           presigned URL, body hash mismatch
  // Messages follow AWS's wording (see docs/architecture.md).
  Result<AuthContext> Verify(const HttpRequestView& req) const;

  // Extracts only the credential scope's service name without verifying anything;
  // returns nullopt when the request carries no parsable SigV4 credential.
  static std::optional<std::string> PeekService(const HttpRequestView& req);

  // Exposed for tests (AWS's published test vectors).
  static std::string CanonicalRequest(const HttpRequestView& req,
                                      const std::vector<std::string>& signed_headers,
                                      const std::string& payload_hash, bool s3_style,
                                      bool presigned);
  static std::string StringToSign(const std::string& amz_date, const std::string& scope,
                                  const std::string& canonical_request);
  static std::string SigningKey(const std::string& secret, const std::string& date,
                                const std::string& region, const std::string& service);

 private:
  const CredentialProvider* creds_;
  const Clock* clock_;
  SigV4Options opts_;
};

// Client-side signing, used by tests and by Sluice itself when it mints presigned URLs
// (dataset content dataURI, S3 issue). Adds Authorization / X-Amz-Date / (token) headers.
struct SignOptions {
  std::string region = "us-east-1";
  std::string service = "iotanalytics";
  int64_t now_seconds = 0;
  bool s3_style = false;
};
void SignRequest(HttpRequestView* req, const Credential& cred, const SignOptions& opts);
std::string PresignUrl(const std::string& method, const std::string& host,
                       const std::string& path_and_query, const Credential& cred,
                       const SignOptions& opts, int64_t expires_seconds);

}  // namespace sluice
