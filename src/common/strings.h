// Small string, encoding, time-format and crypto helpers shared by every module.
// Crypto is OpenSSL; nothing here implements a primitive itself.
// Thread-safety: pure functions, callable from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice {

// --- hex / base64 / crypto (OpenSSL) ---
std::string HexEncode(std::string_view bytes);  // lower-case
std::string Sha256(std::string_view data);      // raw 32 bytes
std::string Sha256Hex(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
bool ConstantTimeEquals(std::string_view a, std::string_view b);
std::string RandomBytes(size_t n);
std::string NewUuid();  // random (v4) UUID, lower-case, 36 chars
std::string Base64Encode(std::string_view bytes);
Result<std::string> Base64Decode(std::string_view text);

// --- URL encoding ---
// Percent-decodes; '+' is left alone (AWS SDKs always send %2B / %20).
Result<std::string> PercentDecode(std::string_view s);
// RFC 3986 unreserved set kept; everything else %XX upper-case. `keep_slash` leaves '/'.
std::string UriEncode(std::string_view s, bool keep_slash);

// --- time ---
// "20150830T123600Z" <-> epoch seconds.
std::optional<int64_t> ParseAmzDate(std::string_view s);
std::string FormatAmzDate(int64_t epoch_seconds);
// ISO-8601 UTC as the SDKs send it in query strings: 2020-01-02T03:04:05Z,
// 2020-01-02T03:04:05.123Z, 2020-01-02T03:04:05.123000Z (also +00:00 offsets).
// Returns epoch microseconds.
std::optional<int64_t> ParseIso8601Micros(std::string_view s);
std::string FormatIso8601(int64_t epoch_seconds);
// RFC 1123 "Sun, 30 Aug 2015 12:36:00 GMT" (the HTTP Date header).
std::optional<int64_t> ParseHttpDate(std::string_view s);
// Days since epoch <-> civil date, proleptic Gregorian (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d);

// --- misc ---
std::string ToLower(std::string_view s);
std::string Trim(std::string_view s);
std::vector<std::string> Split(std::string_view s, char sep);
bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);

}  // namespace sluice
