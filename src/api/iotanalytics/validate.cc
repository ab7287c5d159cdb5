#include "api/iotanalytics/validate.h"

#include <cmath>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "scheduler/schedule_expression.h"

namespace sluice::iota {
namespace {

constexpr char kPrefix[] = "1 validation error detected: ";
constexpr size_t kEchoLimit = 100;  // code points of an echoed value
constexpr int64_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

// ---------------------------------------------------------------------------------------------
// Text helpers

// Number of Unicode code points in UTF-8 text (continuation bytes are not counted).
size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

// First `limit` code points of `s`, with "..." appended when something was cut.
std::string TruncateCodePoints(std::string_view s, size_t limit) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (count == limit) return std::string(s.substr(0, i)) + "...";
      ++count;
    }
  }
  return std::string(s);
}

std::string Echo(const Json& v) {
  if (v.is_string()) return TruncateCodePoints(v.get_ref<const std::string&>(), kEchoLimit);
  return TruncateCodePoints(v.dump(-1, ' ', false, Json::error_handler_t::replace), kEchoLimit);
}

std::string Join(const std::string& path, std::string_view name) {
  if (path.empty()) return std::string(name);
  std::string out = path;
  out += '.';
  out += name;
  return out;
}

// AWS's list element path: 1-based index followed by ".member".
std::string Elem(const std::string& path, size_t index0) {
  return path + "." + std::to_string(index0 + 1) + ".member";
}

std::string ListNames(std::initializer_list<const char*> names) {
  std::string out = "[";
  bool first = true;
  for (const char* n : names) {
    if (!first) out += ", ";
    first = false;
    out += n;
  }
  return out + "]";
}

// ---------------------------------------------------------------------------------------------
// Error constructors

// Model-constraint failure in AWS's wording.
Status ConstraintError(const Json& value, const std::string& path, const std::string& rule) {
  return Status::InvalidArgument(std::string(kPrefix) + "Value '" + Echo(value) + "' at '" + path +
                                 "' failed to satisfy constraint: " + rule);
}

Status NullError(const std::string& path) {
  return Status::InvalidArgument(std::string(kPrefix) + "Value null at '" + path +
                                 "' failed to satisfy constraint: Member must not be null");
}

Status TypeError(const std::string& path, const char* what) {
  return Status::InvalidArgument("Value at '" + path + "' must be " + what);
}

// Service-side rule (not a model constraint).
Status RuleError(const std::string& path, const std::string& reason) {
  return Status::InvalidArgument("Value at '" + path + "' is invalid: " + reason);
}

Status UnionError(const std::string& path, std::initializer_list<const char*> names) {
  return Status::InvalidArgument("Exactly one of " + ListNames(names) + " must be set at '" + path +
                                 "'");
}

Status MinLength(const Json& v, const std::string& path, size_t min) {
  return ConstraintError(v, path,
                         "Member must have length greater than or equal to " + std::to_string(min));
}
Status MaxLength(const Json& v, const std::string& path, size_t max) {
  return ConstraintError(v, path,
                         "Member must have length less than or equal to " + std::to_string(max));
}

// ---------------------------------------------------------------------------------------------
// Patterns (hand-written; the text is the model's, quoted in messages)

bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiAlnum(char c) { return IsAsciiAlpha(c) || IsAsciiDigit(c); }
bool IsWordChar(char c) { return IsAsciiAlnum(c) || c == '_'; }
bool IsJavaSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\x0B' || c == '\f' || c == '\r';
}

template <typename Pred>
bool AllOf(std::string_view s, Pred pred) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

struct Pattern {
  const char* text;
  bool (*matches)(std::string_view);
};

bool MatchResourceName(std::string_view s) {
  return !s.empty() && AllOf(s, IsWordChar) && !(s.size() >= 2 && s[0] == '_' && s[1] == '_');
}
bool MatchWord(std::string_view s) { return !s.empty() && AllOf(s, IsWordChar); }
bool MatchLambdaName(std::string_view s) {
  return !s.empty() && AllOf(s, [](char c) { return IsWordChar(c) || c == '-'; });
}
bool MatchIotEventsInput(std::string_view s) {
  return !s.empty() && IsAsciiAlpha(s[0]) && AllOf(s.substr(1), IsWordChar);
}
bool MatchBucket(std::string_view s) {
  return AllOf(s, [](char c) { return IsWordChar(c) || c == '.' || c == '-'; });
}
bool IsKeyChar(char c) {
  return IsAsciiAlnum(c) || std::string_view("!_.*'()/{}:-").find(c) != std::string_view::npos;
}
bool MatchBucketKey(std::string_view s) { return AllOf(s, IsKeyChar); }
bool MatchKeyPrefix(std::string_view s) {
  return !s.empty() && s.back() == '/' && AllOf(s, IsKeyChar);
}
// ^[A-Za-z_]([A-Za-z0-9]*|[A-Za-z0-9][A-Za-z0-9_]*)$
bool MatchColumnName(std::string_view s) {
  if (s.empty() || !(IsAsciiAlpha(s[0]) || s[0] == '_')) return false;
  std::string_view rest = s.substr(1);
  if (rest.empty()) return true;
  return IsAsciiAlnum(rest[0]) && AllOf(rest.substr(1), IsWordChar);
}
// [\w\.-]{1,255}
bool MatchOutputFileName(std::string_view s) {
  return !s.empty() && CodePoints(s) <= 255 &&
         AllOf(s, [](char c) { return IsWordChar(c) || c == '.' || c == '-'; });
}
bool MatchTimestampFormat(std::string_view s) {
  return AllOf(s, [](char c) {
    return IsAsciiAlnum(c) || IsJavaSpace(c) ||
           std::string_view("[]_,.'/:-").find(c) != std::string_view::npos;
  });
}
// XML character range: no control characters other than tab, no U+FFFE/U+FFFF.
bool MatchXmlChars(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 && c != '\t') return false;
    // U+FFFE / U+FFFF encode as EF BF BE / EF BF BF.
    if (c == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBF &&
        (static_cast<unsigned char>(s[i + 2]) == 0xBE ||
         static_cast<unsigned char>(s[i + 2]) == 0xBF)) {
      return false;
    }
  }
  return true;
}

const Pattern kResourceNamePattern{"(^(?!_{2}))(^[a-zA-Z0-9_]+$)", MatchResourceName};
const Pattern kWordPattern{"^[a-zA-Z0-9_]+$", MatchWord};
const Pattern kLambdaNamePattern{"^[a-zA-Z0-9_-]+$", MatchLambdaName};
const Pattern kIotEventsInputPattern{"^[a-zA-Z][a-zA-Z0-9_]*$", MatchIotEventsInput};
const Pattern kBucketPattern{"^[a-zA-Z0-9.\\-_]*$", MatchBucket};
const Pattern kBucketKeyPattern{"^[a-zA-Z0-9!_.*'()/{}:-]*$", MatchBucketKey};
const Pattern kKeyPrefixPattern{"^[a-zA-Z0-9!_.*'()/{}:-]*/$", MatchKeyPrefix};
const Pattern kColumnNamePattern{"^[A-Za-z_]([A-Za-z0-9]*|[A-Za-z0-9][A-Za-z0-9_]*)$",
                                 MatchColumnName};
const Pattern kOutputFileNamePattern{"[\\w\\.-]{1,255}", MatchOutputFileName};
const Pattern kTimestampFormatPattern{"^[a-zA-Z0-9\\s\\[\\]_,.'/:-]*$", MatchTimestampFormat};
const Pattern kColumnTypePattern{
    "^[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*$", MatchXmlChars};
const Pattern kGlueNamePattern{"[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*",
                               MatchXmlChars};

// ---------------------------------------------------------------------------------------------
// Member access and typed checks. A JSON null counts as absent.

enum Presence { kOptional, kRequired };

const Json* Member(const Json& obj, std::string_view name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

struct Len {
  std::optional<size_t> min;
  std::optional<size_t> max;
};

// String member. `*out` (if given) is set to the value or left untouched when absent.
Status Str(const Json& obj, const std::string& path, std::string_view name, Presence presence,
           Len len, const Pattern* pattern = nullptr, const std::string** out = nullptr) {
  const std::string field = Join(path, name);
  const Json* v = Member(obj, name);
  if (v == nullptr) return presence == kRequired ? NullError(field) : Status::Ok();
  if (!v->is_string()) return TypeError(field, "a string");
  const std::string& s = v->get_ref<const std::string&>();
  const size_t n = CodePoints(s);
  if (len.min && n < *len.min) return MinLength(*v, field, *len.min);
  if (len.max && n > *len.max) return MaxLength(*v, field, *len.max);
  if (pattern != nullptr && !pattern->matches(s)) {
    return ConstraintError(
        *v, field, std::string("Member must satisfy regular expression pattern: ") + pattern->text);
  }
  if (out != nullptr) *out = &s;
  return Status::Ok();
}

// Integer member (JSON integer, or a float with an integral value).
Status Int(const Json& obj, const std::string& path, std::string_view name, Presence presence,
           std::optional<int64_t> min, std::optional<int64_t> max,
           std::optional<int64_t>* out = nullptr) {
  const std::string field = Join(path, name);
  const Json* v = Member(obj, name);
  if (v == nullptr) return presence == kRequired ? NullError(field) : Status::Ok();
  int64_t value = 0;
  bool too_big = false;
  bool too_small = false;
  if (v->is_number_unsigned()) {
    uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(kInt32Max)) {
      too_big = true;
    } else {
      value = static_cast<int64_t>(u);
    }
  } else if (v->is_number_integer()) {
    value = v->get<int64_t>();
  } else if (v->is_number_float()) {
    double d = v->get<double>();
    if (!std::isfinite(d) || std::trunc(d) != d) return TypeError(field, "an integer");
    if (d > static_cast<double>(kInt32Max)) {
      too_big = true;
    } else if (d < static_cast<double>(kInt32Min)) {
      too_small = true;
    } else {
      value = static_cast<int64_t>(d);
    }
  } else {
    return TypeError(field, "an integer");
  }
  const int64_t lo = min.value_or(kInt32Min);
  const int64_t hi = max.value_or(kInt32Max);
  if (too_small || value < lo) {
    return ConstraintError(*v, field,
                           "Member must have value greater than or equal to " + std::to_string(lo));
  }
  if (too_big || value > hi) {
    return ConstraintError(*v, field,
                           "Member must have value less than or equal to " + std::to_string(hi));
  }
  if (out != nullptr) *out = value;
  return Status::Ok();
}

Status Bool(const Json& obj, const std::string& path, std::string_view name, Presence presence,
            std::optional<bool>* out = nullptr) {
  const std::string field = Join(path, name);
  const Json* v = Member(obj, name);
  if (v == nullptr) return presence == kRequired ? NullError(field) : Status::Ok();
  if (!v->is_boolean()) return TypeError(field, "a boolean");
  if (out != nullptr) *out = v->get<bool>();
  return Status::Ok();
}

Status Number(const Json& obj, const std::string& path, std::string_view name, Presence presence) {
  const std::string field = Join(path, name);
  const Json* v = Member(obj, name);
  if (v == nullptr) return presence == kRequired ? NullError(field) : Status::Ok();
  if (!v->is_number()) return TypeError(field, "a number");
  return Status::Ok();
}

Status Enum(const Json& obj, const std::string& path, std::string_view name, Presence presence,
            std::initializer_list<const char*> values) {
  const std::string field = Join(path, name);
  const std::string* s = nullptr;
  RETURN_IF_ERROR(Str(obj, path, name, presence, {}, nullptr, &s));
  if (s == nullptr) return Status::Ok();
  for (const char* v : values) {
    if (*s == v) return Status::Ok();
  }
  return ConstraintError(*Member(obj, name), field,
                         "Member must satisfy enum value set: " + ListNames(values));
}

// Object member; `*out` is null when absent.
Status Obj(const Json& obj, const std::string& path, std::string_view name, Presence presence,
           const Json** out) {
  const std::string field = Join(path, name);
  *out = Member(obj, name);
  if (*out == nullptr) return presence == kRequired ? NullError(field) : Status::Ok();
  if (!(*out)->is_object()) {
    *out = nullptr;
    return TypeError(field, "an object");
  }
  return Status::Ok();
}

// List member with size bounds; `*out` is null when absent.
Status List(const Json& obj, const std::string& path, std::string_view name, Presence presence,
            Len len, const Json** out) {
  const std::string field = Join(path, name);
  *out = Member(obj, name);
  if (*out == nullptr) return presence == kRequired ? NullError(field) : Status::Ok();
  const Json& v = **out;
  if (!v.is_array()) {
    *out = nullptr;
    return TypeError(field, "a list");
  }
  if (len.min && v.size() < *len.min) return MinLength(v, field, *len.min);
  if (len.max && v.size() > *len.max) return MaxLength(v, field, *len.max);
  return Status::Ok();
}

// The element of a list at `index0` must be an object.
Status ElemObj(const Json& list, const std::string& list_path, size_t index0) {
  const Json& e = list[index0];
  if (e.is_null()) return NullError(Elem(list_path, index0));
  if (!e.is_object()) return TypeError(Elem(list_path, index0), "an object");
  return Status::Ok();
}

// Exactly one of `names` is present (non-null) in `obj`; sets `*which` to it.
Status ExactlyOne(const Json& obj, const std::string& path,
                  std::initializer_list<const char*> names, std::string* which) {
  int count = 0;
  for (const char* n : names) {
    if (Member(obj, n) != nullptr) {
      ++count;
      *which = n;
    }
  }
  if (count != 1) return UnionError(path, names);
  return Status::Ok();
}

// An empty structure such as serviceManagedS3 {}.
Status EmptyObj(const Json& obj, const std::string& path, std::string_view name) {
  const Json* out = nullptr;
  return Obj(obj, path, name, kOptional, &out);
}

Status RequireBodyObject(const Json& body) {
  if (!body.is_object()) return Status::InvalidArgument("Request body must be a JSON object");
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Shared shapes

constexpr Len kNameLen{1, 128};
constexpr Len kRoleArnLen{20, 2048};
constexpr Len kBucketLen{3, 255};
constexpr Len kKeyPrefixLen{1, 255};

Status NameMember(const Json& obj, const std::string& path, std::string_view name,
                  Presence presence, const std::string** out = nullptr) {
  return Str(obj, path, name, presence, kNameLen, &kResourceNamePattern, out);
}

Status RoleArn(const Json& obj, const std::string& path, std::string_view name) {
  return Str(obj, path, name, kRequired, kRoleArnLen);
}

// RetentionPeriod {unlimited, numberOfDays >= 1} or VersioningConfiguration
// {unlimited, maxVersions 1-1000}: either unlimited:true alone or a count.
Status UnlimitedOrCount(const Json& body, std::string_view name, std::string_view count_name,
                        std::optional<int64_t> max) {
  const std::string field(name);
  const Json* obj = nullptr;
  RETURN_IF_ERROR(Obj(body, "", name, kOptional, &obj));
  if (obj == nullptr) return Status::Ok();
  std::optional<bool> unlimited;
  std::optional<int64_t> count;
  RETURN_IF_ERROR(Bool(*obj, field, "unlimited", kOptional, &unlimited));
  RETURN_IF_ERROR(Int(*obj, field, count_name, kOptional, 1, max, &count));
  if (unlimited.value_or(false) && count.has_value()) {
    return RuleError(field, std::string(count_name) + " must not be set when unlimited is true");
  }
  if (!unlimited.value_or(false) && !count.has_value()) {
    return RuleError(field, std::string(count_name) + " is required unless unlimited is true");
  }
  return Status::Ok();
}

Status RetentionPeriod(const Json& body) {
  return UnlimitedOrCount(body, "retentionPeriod", "numberOfDays", std::nullopt);
}

Status OptionalTags(const Json& body) {
  const Json* tags = Member(body, "tags");
  if (tags == nullptr) return Status::Ok();
  return ValidateTagList("tags", *tags);
}

// customerManagedS3 of a channel or datastore: bucket*, keyPrefix, roleArn* (no roleArn for
// the SiteWise variant).
Status CustomerS3(const Json& obj, const std::string& path, bool with_role) {
  RETURN_IF_ERROR(Str(obj, path, "bucket", kRequired, kBucketLen, &kBucketPattern));
  RETURN_IF_ERROR(Str(obj, path, "keyPrefix", kOptional, kKeyPrefixLen, &kKeyPrefixPattern));
  if (with_role) RETURN_IF_ERROR(RoleArn(obj, path, "roleArn"));
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Channel

Status ChannelStorage(const Json& body) {
  const Json* storage = nullptr;
  RETURN_IF_ERROR(Obj(body, "", "channelStorage", kOptional, &storage));
  if (storage == nullptr) return Status::Ok();
  const std::string path = "channelStorage";
  std::string which;
  RETURN_IF_ERROR(ExactlyOne(*storage, path, {"serviceManagedS3", "customerManagedS3"}, &which));
  if (which == "serviceManagedS3") return EmptyObj(*storage, path, which);
  const Json* s3 = nullptr;
  RETURN_IF_ERROR(Obj(*storage, path, which, kRequired, &s3));
  return CustomerS3(*s3, Join(path, which), /*with_role=*/true);
}

// ---------------------------------------------------------------------------------------------
// Datastore

Status DatastoreStorage(const Json& body) {
  const Json* storage = nullptr;
  RETURN_IF_ERROR(Obj(body, "", "datastoreStorage", kOptional, &storage));
  if (storage == nullptr) return Status::Ok();
  const std::string path = "datastoreStorage";
  std::string which;
  RETURN_IF_ERROR(ExactlyOne(
      *storage, path, {"serviceManagedS3", "customerManagedS3", "iotSiteWiseMultiLayerStorage"},
      &which));
  if (which == "serviceManagedS3") return EmptyObj(*storage, path, which);
  const Json* inner = nullptr;
  RETURN_IF_ERROR(Obj(*storage, path, which, kRequired, &inner));
  if (which == "customerManagedS3") return CustomerS3(*inner, Join(path, which), true);
  const std::string sitewise = Join(path, which);
  const Json* s3 = nullptr;
  RETURN_IF_ERROR(Obj(*inner, sitewise, "customerManagedS3Storage", kRequired, &s3));
  return CustomerS3(*s3, Join(sitewise, "customerManagedS3Storage"), /*with_role=*/false);
}

Status FileFormatConfiguration(const Json& body) {
  const Json* fmt = nullptr;
  RETURN_IF_ERROR(Obj(body, "", "fileFormatConfiguration", kOptional, &fmt));
  if (fmt == nullptr) return Status::Ok();
  const std::string path = "fileFormatConfiguration";
  std::string which;
  RETURN_IF_ERROR(ExactlyOne(*fmt, path, {"jsonConfiguration", "parquetConfiguration"}, &which));
  if (which == "jsonConfiguration") return EmptyObj(*fmt, path, which);
  const std::string parquet_path = Join(path, which);
  const Json* parquet = nullptr;
  RETURN_IF_ERROR(Obj(*fmt, path, which, kRequired, &parquet));
  const Json* schema = nullptr;
  RETURN_IF_ERROR(Obj(*parquet, parquet_path, "schemaDefinition", kOptional, &schema));
  if (schema == nullptr) return Status::Ok();
  const std::string schema_path = Join(parquet_path, "schemaDefinition");
  const Json* columns = nullptr;
  RETURN_IF_ERROR(List(*schema, schema_path, "columns", kOptional, {std::nullopt, 100}, &columns));
  if (columns == nullptr) return Status::Ok();
  const std::string columns_path = Join(schema_path, "columns");
  for (size_t i = 0; i < columns->size(); ++i) {
    RETURN_IF_ERROR(ElemObj(*columns, columns_path, i));
    const std::string p = Elem(columns_path, i);
    const Json& col = (*columns)[i];
    RETURN_IF_ERROR(Str(col, p, "name", kRequired, {1, 255}, &kColumnNamePattern));
    RETURN_IF_ERROR(Str(col, p, "type", kRequired, {1, 131072}, &kColumnTypePattern));
  }
  return Status::Ok();
}

Status DatastorePartitions(const Json& body) {
  const Json* parts = nullptr;
  RETURN_IF_ERROR(Obj(body, "", "datastorePartitions", kOptional, &parts));
  if (parts == nullptr) return Status::Ok();
  const std::string path = "datastorePartitions";
  const Json* list = nullptr;
  RETURN_IF_ERROR(List(*parts, path, "partitions", kOptional, {0, 25}, &list));
  if (list == nullptr) return Status::Ok();
  const std::string list_path = Join(path, "partitions");
  int timestamp_partitions = 0;
  for (size_t i = 0; i < list->size(); ++i) {
    RETURN_IF_ERROR(ElemObj(*list, list_path, i));
    const std::string p = Elem(list_path, i);
    const Json& part = (*list)[i];
    std::string which;
    RETURN_IF_ERROR(ExactlyOne(part, p, {"attributePartition", "timestampPartition"}, &which));
    const Json* inner = nullptr;
    RETURN_IF_ERROR(Obj(part, p, which, kRequired, &inner));
    const std::string inner_path = Join(p, which);
    RETURN_IF_ERROR(Str(*inner, inner_path, "attributeName", kRequired, kNameLen, &kWordPattern));
    if (which == "timestampPartition") {
      RETURN_IF_ERROR(
          Str(*inner, inner_path, "timestampFormat", kOptional, {1, 50}, &kTimestampFormatPattern));
      if (++timestamp_partitions > 1) {
        return RuleError(inner_path, "only one timestampPartition is allowed per datastore");
      }
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Pipeline

constexpr std::initializer_list<const char*> kActivityKinds = {
    "channel",          "lambda", "datastore", "addAttributes",        "removeAttributes",
    "selectAttributes", "filter", "math",      "deviceRegistryEnrich", "deviceShadowEnrich"};

Status AttributeNameList(const Json& act, const std::string& path) {
  const Json* list = nullptr;
  RETURN_IF_ERROR(List(act, path, "attributes", kRequired, {1, 50}, &list));
  const std::string list_path = Join(path, "attributes");
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& e = (*list)[i];
    const std::string p = Elem(list_path, i);
    if (e.is_null()) return NullError(p);
    if (!e.is_string()) return TypeError(p, "a string");
    const size_t n = CodePoints(e.get_ref<const std::string&>());
    if (n < 1) return MinLength(e, p, 1);
    if (n > 256) return MaxLength(e, p, 256);
  }
  return Status::Ok();
}

Status AttributeNameMap(const Json& act, const std::string& path) {
  const std::string field = Join(path, "attributes");
  const Json* map = Member(act, "attributes");
  if (map == nullptr) return NullError(field);
  if (!map->is_object()) return TypeError(field, "an object");
  if (map->empty()) return MinLength(*map, field, 1);
  if (map->size() > 50) return MaxLength(*map, field, 50);
  for (auto it = map->begin(); it != map->end(); ++it) {
    const size_t key_len = CodePoints(it.key());
    if (key_len < 1 || key_len > 256) {
      return ConstraintError(
          *map, field,
          std::string("Map keys must satisfy constraint: [Member must have "
                      "length ") +
              (key_len < 1 ? "greater than or equal to 1]" : "less than or equal to 256]"));
    }
    const Json& v = it.value();
    const std::string value_path = Join(field, it.key());
    if (v.is_null()) return NullError(value_path);
    if (!v.is_string()) return TypeError(value_path, "a string");
    const size_t n = CodePoints(v.get_ref<const std::string&>());
    if (n < 1) return MinLength(v, value_path, 1);
    if (n > 256) return MaxLength(v, value_path, 256);
  }
  return Status::Ok();
}

struct ActivityInfo {
  std::string kind;
  std::string name;
  std::optional<std::string> next;
  std::string path;  // e.g. pipelineActivities.2.member.math
};

// Validates one activity element (exactly one activity key) and its members.
Status Activity(const Json& element, const std::string& elem_path, PipelineRefs* refs,
                ActivityInfo* info) {
  std::string kind;
  RETURN_IF_ERROR(ExactlyOne(element, elem_path, kActivityKinds, &kind));
  const Json* act = nullptr;
  RETURN_IF_ERROR(Obj(element, elem_path, kind, kRequired, &act));
  const std::string path = Join(elem_path, kind);
  const std::string* name = nullptr;
  RETURN_IF_ERROR(Str(*act, path, "name", kRequired, kNameLen, nullptr, &name));
  info->kind = kind;
  info->name = *name;
  info->path = path;
  constexpr Len kAttr{1, 256};
  if (kind == "channel") {
    const std::string* channel = nullptr;
    RETURN_IF_ERROR(NameMember(*act, path, "channelName", kRequired, &channel));
    if (refs != nullptr) refs->channels.insert(*channel);
  } else if (kind == "datastore") {
    const std::string* datastore = nullptr;
    RETURN_IF_ERROR(NameMember(*act, path, "datastoreName", kRequired, &datastore));
    if (refs != nullptr) refs->datastores.insert(*datastore);
    if (Member(*act, "next") != nullptr) {
      return RuleError(Join(path, "next"), "the datastore activity '" + *name +
                                               "' ends the pipeline and must not "
                                               "have a next activity");
    }
    return Status::Ok();
  } else if (kind == "lambda") {
    RETURN_IF_ERROR(Str(*act, path, "lambdaName", kRequired, {1, 64}, &kLambdaNamePattern));
    RETURN_IF_ERROR(Int(*act, path, "batchSize", kRequired, 1, 1000));
  } else if (kind == "addAttributes") {
    RETURN_IF_ERROR(AttributeNameMap(*act, path));
  } else if (kind == "removeAttributes" || kind == "selectAttributes") {
    RETURN_IF_ERROR(AttributeNameList(*act, path));
  } else if (kind == "filter") {
    RETURN_IF_ERROR(Str(*act, path, "filter", kRequired, {1, 256}));
  } else if (kind == "math") {
    RETURN_IF_ERROR(Str(*act, path, "attribute", kRequired, kAttr));
    RETURN_IF_ERROR(Str(*act, path, "math", kRequired, {1, 256}));
  } else {  // deviceRegistryEnrich, deviceShadowEnrich
    RETURN_IF_ERROR(Str(*act, path, "attribute", kRequired, kAttr));
    RETURN_IF_ERROR(Str(*act, path, "thingName", kRequired, kAttr));
    RETURN_IF_ERROR(RoleArn(*act, path, "roleArn"));
  }
  const std::string* next = nullptr;
  RETURN_IF_ERROR(Str(*act, path, "next", kOptional, kNameLen, nullptr, &next));
  if (next != nullptr) info->next = *next;
  return Status::Ok();
}

// The activity chain: channel -> ... -> datastore, every activity visited exactly once.
Status ActivityGraph(const std::vector<ActivityInfo>& acts) {
  const std::string list_path = "pipelineActivities";
  std::map<std::string, size_t> by_name;
  for (size_t i = 0; i < acts.size(); ++i) {
    auto [it, inserted] = by_name.emplace(acts[i].name, i);
    if (!inserted) {
      return RuleError(
          Join(acts[i].path, "name"),
          "activity name '" + acts[i].name + "' is already used by " + acts[it->second].path);
    }
  }
  std::optional<size_t> channel;
  std::optional<size_t> datastore;
  for (size_t i = 0; i < acts.size(); ++i) {
    if (acts[i].kind == "channel") {
      if (channel) {
        return RuleError(acts[i].path, "a pipeline must have exactly one channel activity; '" +
                                           acts[*channel].name + "' and '" + acts[i].name +
                                           "' are both channel activities");
      }
      channel = i;
    } else if (acts[i].kind == "datastore") {
      if (datastore) {
        return RuleError(acts[i].path, "a pipeline must have exactly one datastore activity; '" +
                                           acts[*datastore].name + "' and '" + acts[i].name +
                                           "' are both datastore activities");
      }
      datastore = i;
    }
  }
  if (!channel) return RuleError(list_path, "a pipeline must have exactly one channel activity");
  if (!datastore) {
    return RuleError(list_path, "a pipeline must have exactly one datastore activity");
  }
  for (const ActivityInfo& a : acts) {
    if (!a.next) continue;
    const std::string next_path = Join(a.path, "next");
    if (*a.next == a.name) {
      return RuleError(next_path, "activity '" + a.name + "' names itself as its next activity");
    }
    if (by_name.find(*a.next) == by_name.end()) {
      return RuleError(next_path, "activity '" + a.name + "' names next activity '" + *a.next +
                                      "' which does not exist");
    }
  }
  std::vector<bool> visited(acts.size(), false);
  size_t cur = *channel;
  size_t visited_count = 0;
  while (true) {
    if (visited[cur]) {
      return RuleError(list_path, "the activities form a cycle at activity '" + acts[cur].name +
                                      "'; the chain from channel activity '" + acts[*channel].name +
                                      "' must end at datastore activity '" + acts[*datastore].name +
                                      "'");
    }
    visited[cur] = true;
    ++visited_count;
    if (cur == *datastore) break;
    if (!acts[cur].next) {
      return RuleError(acts[cur].path, "activity '" + acts[cur].name +
                                           "' has no next activity; the chain from channel "
                                           "activity '" +
                                           acts[*channel].name +
                                           "' must end at datastore activity '" +
                                           acts[*datastore].name + "'");
    }
    cur = by_name.at(*acts[cur].next);
  }
  if (visited_count != acts.size()) {
    for (size_t i = 0; i < acts.size(); ++i) {
      if (!visited[i]) {
        return RuleError(acts[i].path, "activity '" + acts[i].name +
                                           "' is not reachable from channel activity '" +
                                           acts[*channel].name + "'");
      }
    }
  }
  return Status::Ok();
}

Status PipelineActivities(const Json& body, PipelineRefs* refs) {
  if (refs != nullptr) *refs = PipelineRefs{};
  const std::string list_path = "pipelineActivities";
  const Json* list = nullptr;
  RETURN_IF_ERROR(List(body, "", list_path, kRequired, {1, 25}, &list));
  std::vector<ActivityInfo> acts(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    RETURN_IF_ERROR(ElemObj(*list, list_path, i));
    RETURN_IF_ERROR(Activity((*list)[i], Elem(list_path, i), refs, &acts[i]));
  }
  return ActivityGraph(acts);
}

// ---------------------------------------------------------------------------------------------
// Dataset

struct ActionInfo {
  std::string kind;  // queryAction | containerAction
  bool has_delta_time = false;
};

Status QueryAction(const Json& q, const std::string& path, ActionInfo* info) {
  RETURN_IF_ERROR(Str(q, path, "sqlQuery", kRequired, {1, std::nullopt}));
  const Json* filters = nullptr;
  RETURN_IF_ERROR(List(q, path, "filters", kOptional, {0, 1}, &filters));
  if (filters == nullptr) return Status::Ok();
  const std::string filters_path = Join(path, "filters");
  for (size_t i = 0; i < filters->size(); ++i) {
    RETURN_IF_ERROR(ElemObj(*filters, filters_path, i));
    const std::string p = Elem(filters_path, i);
    std::string which;
    RETURN_IF_ERROR(ExactlyOne((*filters)[i], p, {"deltaTime"}, &which));
    const Json* delta = nullptr;
    RETURN_IF_ERROR(Obj((*filters)[i], p, "deltaTime", kRequired, &delta));
    const std::string delta_path = Join(p, "deltaTime");
    RETURN_IF_ERROR(
        Int(*delta, delta_path, "offsetSeconds", kRequired, std::nullopt, std::nullopt));
    RETURN_IF_ERROR(Str(*delta, delta_path, "timeExpression", kRequired, {1, std::nullopt}));
    info->has_delta_time = true;
  }
  return Status::Ok();
}

Status Variables(const Json& c, const std::string& path) {
  const Json* vars = nullptr;
  RETURN_IF_ERROR(List(c, path, "variables", kOptional, {0, 50}, &vars));
  if (vars == nullptr) return Status::Ok();
  const std::string vars_path = Join(path, "variables");
  std::map<std::string, std::string> seen;  // name -> path of first use
  for (size_t i = 0; i < vars->size(); ++i) {
    RETURN_IF_ERROR(ElemObj(*vars, vars_path, i));
    const std::string p = Elem(vars_path, i);
    const Json& var = (*vars)[i];
    const std::string* name = nullptr;
    RETURN_IF_ERROR(Str(var, p, "name", kRequired, {1, 256}, nullptr, &name));
    auto [it, inserted] = seen.emplace(*name, p);
    if (!inserted) {
      return RuleError(Join(p, "name"),
                       "variable name '" + *name + "' is already used by " + it->second);
    }
    std::string which;
    RETURN_IF_ERROR(ExactlyOne(
        var, p, {"stringValue", "doubleValue", "datasetContentVersionValue", "outputFileUriValue"},
        &which));
    if (which == "stringValue") {
      RETURN_IF_ERROR(Str(var, p, which, kRequired, {0, 1024}));
    } else if (which == "doubleValue") {
      RETURN_IF_ERROR(Number(var, p, which, kRequired));
    } else if (which == "datasetContentVersionValue") {
      const Json* v = nullptr;
      RETURN_IF_ERROR(Obj(var, p, which, kRequired, &v));
      RETURN_IF_ERROR(NameMember(*v, Join(p, which), "datasetName", kRequired));
    } else {
      const Json* v = nullptr;
      RETURN_IF_ERROR(Obj(var, p, which, kRequired, &v));
      RETURN_IF_ERROR(Str(*v, Join(p, which), "fileName", kRequired, {}, &kOutputFileNamePattern));
    }
  }
  return Status::Ok();
}

Status ContainerAction(const Json& c, const std::string& path) {
  RETURN_IF_ERROR(Str(c, path, "image", kRequired, {1, 255}));
  RETURN_IF_ERROR(RoleArn(c, path, "executionRoleArn"));
  const Json* rc = nullptr;
  RETURN_IF_ERROR(Obj(c, path, "resourceConfiguration", kRequired, &rc));
  const std::string rc_path = Join(path, "resourceConfiguration");
  RETURN_IF_ERROR(Enum(*rc, rc_path, "computeType", kRequired, {"ACU_1", "ACU_2"}));
  RETURN_IF_ERROR(Int(*rc, rc_path, "volumeSizeInGB", kRequired, 1, 50));
  return Variables(c, path);
}

Status DatasetActions(const Json& body, ActionInfo* info) {
  const std::string list_path = "actions";
  const Json* list = nullptr;
  RETURN_IF_ERROR(List(body, "", list_path, kRequired, {1, 1}, &list));
  for (size_t i = 0; i < list->size(); ++i) {
    RETURN_IF_ERROR(ElemObj(*list, list_path, i));
    const std::string p = Elem(list_path, i);
    const Json& action = (*list)[i];
    RETURN_IF_ERROR(Str(action, p, "actionName", kOptional, kNameLen, &kWordPattern));
    RETURN_IF_ERROR(ExactlyOne(action, p, {"queryAction", "containerAction"}, &info->kind));
    const Json* inner = nullptr;
    RETURN_IF_ERROR(Obj(action, p, info->kind, kRequired, &inner));
    if (info->kind == "queryAction") {
      RETURN_IF_ERROR(QueryAction(*inner, Join(p, info->kind), info));
    } else {
      RETURN_IF_ERROR(ContainerAction(*inner, Join(p, info->kind)));
    }
  }
  return Status::Ok();
}

Status DatasetTriggers(const Json& body, const ActionInfo& action) {
  const std::string list_path = "triggers";
  const Json* list = nullptr;
  RETURN_IF_ERROR(List(body, "", list_path, kOptional, {0, 5}, &list));
  if (list == nullptr) return Status::Ok();
  int schedules = 0;
  int datasets = 0;
  for (size_t i = 0; i < list->size(); ++i) {
    RETURN_IF_ERROR(ElemObj(*list, list_path, i));
    const std::string p = Elem(list_path, i);
    const Json& trigger = (*list)[i];
    const bool has_schedule = Member(trigger, "schedule") != nullptr;
    const bool has_dataset = Member(trigger, "dataset") != nullptr;
    if (has_schedule && has_dataset) {
      return Status::InvalidArgument("Exactly one trigger type should be provided");
    }
    if (!has_schedule && !has_dataset) return UnionError(p, {"schedule", "dataset"});
    const Json* inner = nullptr;
    if (has_schedule) {
      ++schedules;
      RETURN_IF_ERROR(Obj(trigger, p, "schedule", kRequired, &inner));
      const std::string* expr = nullptr;
      RETURN_IF_ERROR(
          Str(*inner, Join(p, "schedule"), "expression", kRequired, {}, nullptr, &expr));
      Result<ScheduleExpression> parsed = ScheduleExpression::Parse(*expr);
      if (!parsed.ok()) return Status::InvalidArgument(parsed.status().message());
    } else {
      ++datasets;
      RETURN_IF_ERROR(Obj(trigger, p, "dataset", kRequired, &inner));
      RETURN_IF_ERROR(NameMember(*inner, Join(p, "dataset"), "name", kRequired));
    }
  }
  if (schedules > 0 && datasets > 0) {
    return Status::InvalidArgument("Exactly one trigger type should be provided");
  }
  if (datasets > 1) return Status::InvalidArgument("There can only be one triggering dataset");
  if (datasets > 0 && action.kind != "containerAction") {
    return Status::InvalidArgument("Triggering dataset can only be added on a container dataset");
  }
  return Status::Ok();
}

Status ContentDeliveryRules(const Json& body) {
  const std::string list_path = "contentDeliveryRules";
  const Json* list = nullptr;
  RETURN_IF_ERROR(List(body, "", list_path, kOptional, {0, 20}, &list));
  if (list == nullptr) return Status::Ok();
  for (size_t i = 0; i < list->size(); ++i) {
    RETURN_IF_ERROR(ElemObj(*list, list_path, i));
    const std::string p = Elem(list_path, i);
    const Json& rule = (*list)[i];
    RETURN_IF_ERROR(Str(rule, p, "entryName", kOptional, {}));
    const Json* dest = nullptr;
    RETURN_IF_ERROR(Obj(rule, p, "destination", kRequired, &dest));
    const std::string dest_path = Join(p, "destination");
    std::string which;
    RETURN_IF_ERROR(ExactlyOne(*dest, dest_path,
                               {"iotEventsDestinationConfiguration", "s3DestinationConfiguration"},
                               &which));
    const Json* cfg = nullptr;
    RETURN_IF_ERROR(Obj(*dest, dest_path, which, kRequired, &cfg));
    const std::string cfg_path = Join(dest_path, which);
    if (which == "iotEventsDestinationConfiguration") {
      RETURN_IF_ERROR(
          Str(*cfg, cfg_path, "inputName", kRequired, kNameLen, &kIotEventsInputPattern));
      RETURN_IF_ERROR(RoleArn(*cfg, cfg_path, "roleArn"));
    } else {
      RETURN_IF_ERROR(Str(*cfg, cfg_path, "bucket", kRequired, kBucketLen, &kBucketPattern));
      RETURN_IF_ERROR(Str(*cfg, cfg_path, "key", kRequired, {1, 255}, &kBucketKeyPattern));
      const Json* glue = nullptr;
      RETURN_IF_ERROR(Obj(*cfg, cfg_path, "glueConfiguration", kOptional, &glue));
      if (glue != nullptr) {
        const std::string glue_path = Join(cfg_path, "glueConfiguration");
        RETURN_IF_ERROR(Str(*glue, glue_path, "tableName", kRequired, {1, 150}, &kGlueNamePattern));
        RETURN_IF_ERROR(
            Str(*glue, glue_path, "databaseName", kRequired, {1, 150}, &kGlueNamePattern));
      }
      RETURN_IF_ERROR(RoleArn(*cfg, cfg_path, "roleArn"));
    }
  }
  return Status::Ok();
}

Status LateDataRules(const Json& body, const ActionInfo& action) {
  const std::string list_path = "lateDataRules";
  const Json* list = nullptr;
  RETURN_IF_ERROR(List(body, "", list_path, kOptional, {1, 1}, &list));
  if (list == nullptr) return Status::Ok();
  for (size_t i = 0; i < list->size(); ++i) {
    RETURN_IF_ERROR(ElemObj(*list, list_path, i));
    const std::string p = Elem(list_path, i);
    const Json& rule = (*list)[i];
    RETURN_IF_ERROR(Str(rule, p, "ruleName", kOptional, kNameLen, &kWordPattern));
    const Json* cfg = nullptr;
    RETURN_IF_ERROR(Obj(rule, p, "ruleConfiguration", kRequired, &cfg));
    const std::string cfg_path = Join(p, "ruleConfiguration");
    std::string which;
    RETURN_IF_ERROR(ExactlyOne(*cfg, cfg_path, {"deltaTimeSessionWindowConfiguration"}, &which));
    const Json* window = nullptr;
    RETURN_IF_ERROR(Obj(*cfg, cfg_path, which, kRequired, &window));
    RETURN_IF_ERROR(Int(*window, Join(cfg_path, which), "timeoutInMinutes", kRequired, 1, 60));
  }
  if (action.kind != "queryAction" || !action.has_delta_time) {
    return RuleError(list_path, "lateDataRules require a queryAction with a deltaTime filter");
  }
  return Status::Ok();
}

Status DatasetBody(const Json& body) {
  ActionInfo action;
  RETURN_IF_ERROR(DatasetActions(body, &action));
  RETURN_IF_ERROR(DatasetTriggers(body, action));
  RETURN_IF_ERROR(ContentDeliveryRules(body));
  RETURN_IF_ERROR(RetentionPeriod(body));
  RETURN_IF_ERROR(UnlimitedOrCount(body, "versioningConfiguration", "maxVersions", 1000));
  return LateDataRules(body, action);
}

// Runs `fn`, turning any escaped exception into an internal error.
template <typename Fn>
Status Guarded(Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("request validation failed unexpectedly: ") + e.what());
  } catch (...) {
    return Status::Internal("request validation failed unexpectedly");
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API

Status ValidateResourceName(const std::string& field, const Json& value) {
  return Guarded([&]() -> Status {
    if (value.is_null()) return NullError(field);
    if (!value.is_string()) return TypeError(field, "a string");
    Json holder = Json::object();
    holder[field] = value;
    return NameMember(holder, "", field, kRequired);
  });
}

Status ValidateCreateChannel(const Json& body) {
  return Guarded([&]() -> Status {
    RETURN_IF_ERROR(RequireBodyObject(body));
    RETURN_IF_ERROR(NameMember(body, "", "channelName", kRequired));
    RETURN_IF_ERROR(ChannelStorage(body));
    RETURN_IF_ERROR(RetentionPeriod(body));
    return OptionalTags(body);
  });
}

Status ValidateUpdateChannel(const Json& body) {
  return Guarded([&]() -> Status {
    RETURN_IF_ERROR(RequireBodyObject(body));
    RETURN_IF_ERROR(ChannelStorage(body));
    return RetentionPeriod(body);
  });
}

Status ValidateCreateDatastore(const Json& body) {
  return Guarded([&]() -> Status {
    RETURN_IF_ERROR(RequireBodyObject(body));
    RETURN_IF_ERROR(NameMember(body, "", "datastoreName", kRequired));
    RETURN_IF_ERROR(DatastoreStorage(body));
    RETURN_IF_ERROR(RetentionPeriod(body));
    RETURN_IF_ERROR(OptionalTags(body));
    RETURN_IF_ERROR(FileFormatConfiguration(body));
    return DatastorePartitions(body);
  });
}

Status ValidateUpdateDatastore(const Json& body) {
  return Guarded([&]() -> Status {
    RETURN_IF_ERROR(RequireBodyObject(body));
    RETURN_IF_ERROR(RetentionPeriod(body));
    RETURN_IF_ERROR(DatastoreStorage(body));
    return FileFormatConfiguration(body);
  });
}

Status ValidateCreatePipeline(const Json& body, PipelineRefs* refs) {
  return Guarded([&]() -> Status {
    RETURN_IF_ERROR(RequireBodyObject(body));
    RETURN_IF_ERROR(NameMember(body, "", "pipelineName", kRequired));
    RETURN_IF_ERROR(PipelineActivities(body, refs));
    return OptionalTags(body);
  });
}

Status ValidateUpdatePipeline(const Json& body, PipelineRefs* refs) {
  return Guarded([&]() -> Status {
    RETURN_IF_ERROR(RequireBodyObject(body));
    return PipelineActivities(body, refs);
  });
}

Status ValidateCreateDataset(const Json& body) {
  return Guarded([&]() -> Status {
    RETURN_IF_ERROR(RequireBodyObject(body));
    RETURN_IF_ERROR(NameMember(body, "", "datasetName", kRequired));
    RETURN_IF_ERROR(DatasetBody(body));
    return OptionalTags(body);
  });
}

Status ValidateUpdateDataset(const Json& body) {
  return Guarded([&]() -> Status {
    RETURN_IF_ERROR(RequireBodyObject(body));
    return DatasetBody(body);
  });
}

Status ValidateTagList(const std::string& field, const Json& tags) {
  return Guarded([&]() -> Status {
    if (tags.is_null()) return NullError(field);
    if (!tags.is_array()) return TypeError(field, "a list");
    if (tags.empty()) return MinLength(tags, field, 1);
    if (tags.size() > 50) return MaxLength(tags, field, 50);
    std::map<std::string, std::string> seen;  // key -> path of first use
    for (size_t i = 0; i < tags.size(); ++i) {
      RETURN_IF_ERROR(ElemObj(tags, field, i));
      const std::string p = Elem(field, i);
      const std::string* key = nullptr;
      RETURN_IF_ERROR(Str(tags[i], p, "key", kRequired, {1, 256}, nullptr, &key));
      RETURN_IF_ERROR(Str(tags[i], p, "value", kRequired, {1, 256}));
      auto [it, inserted] = seen.emplace(*key, p);
      if (!inserted) {
        return RuleError(Join(p, "key"),
                         "duplicate tag key '" + *key + "' (also at " + it->second + ")");
      }
    }
    return Status::Ok();
  });
}

Status ValidatePutLoggingOptions(const Json& body) {
  return Guarded([&]() -> Status {
    RETURN_IF_ERROR(RequireBodyObject(body));
    const Json* opts = nullptr;
    RETURN_IF_ERROR(Obj(body, "", "loggingOptions", kRequired, &opts));
    const std::string path = "loggingOptions";
    RETURN_IF_ERROR(RoleArn(*opts, path, "roleArn"));
    RETURN_IF_ERROR(Enum(*opts, path, "level", kRequired, {"ERROR"}));
    return Bool(*opts, path, "enabled", kRequired);
  });
}

}  // namespace sluice::iota
