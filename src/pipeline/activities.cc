#include "pipeline/activities.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>
#include <utility>

#include "common/strings.h"
#include "iotsql/expression.h"

namespace sluice::pipeline {

// ---------------------------------------------------------------------------------------
// Payloads

Json DecodePayload(std::string_view payload) {
  Json j = Json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Json(Base64Encode(payload));
  return j;
}

std::string EncodePayload(const Json& message) {
  return message.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// ---------------------------------------------------------------------------------------
// Attribute paths

Result<AttributePath> AttributePath::Parse(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("Invalid attribute path '" + text + "': " + why);
  };
  if (text.empty()) return bad("empty");
  AttributePath p;
  p.text_ = text;
  size_t i = 0;
  const size_t n = text.size();
  while (true) {
    size_t start = i;
    while (i < n && text[i] != '.' && text[i] != '[' && text[i] != ']') ++i;
    if (i == start) return bad("expected an attribute name at position " + std::to_string(i));
    Step name_step;
    name_step.key = text.substr(start, i - start);
    p.last_name_ = name_step.key;
    p.steps_.push_back(std::move(name_step));
    while (i < n && text[i] == '[') {
      size_t close = text.find(']', i);
      if (close == std::string::npos) return bad("unclosed '['");
      std::string digits = text.substr(i + 1, close - i - 1);
      if (digits.empty() || digits.size() > 9 ||
          !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return bad("array index must be a non-negative integer, got '" + digits + "'");
      }
      Step idx;
      idx.is_index = true;
      idx.index = static_cast<size_t>(std::stoul(digits));
      p.steps_.push_back(std::move(idx));
      i = close + 1;
    }
    if (i == n) break;
    if (text[i] != '.') return bad("unexpected '" + std::string(1, text[i]) + "'");
    ++i;
    if (i == n) return bad("ends with '.'");
  }
  return p;
}

const Json* AttributePath::Find(const Json& message) const {
  if (!message.is_object()) return nullptr;
  if (auto it = message.find(text_); it != message.end()) return &*it;
  const Json* cur = &message;
  for (const Step& s : steps_) {
    if (s.is_index) {
      if (!cur->is_array() || s.index >= cur->size()) return nullptr;
      cur = &(*cur)[s.index];
    } else {
      if (!cur->is_object()) return nullptr;
      auto it = cur->find(s.key);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    }
  }
  return cur;
}

bool AttributePath::Remove(Json& message) const {
  if (!message.is_object()) return false;
  if (message.contains(text_)) {
    message.erase(text_);
    return true;
  }
  Json* cur = &message;
  for (size_t k = 0; k + 1 < steps_.size(); ++k) {
    const Step& s = steps_[k];
    if (s.is_index) {
      if (!cur->is_array() || s.index >= cur->size()) return false;
      cur = &(*cur)[s.index];
    } else {
      if (!cur->is_object()) return false;
      auto it = cur->find(s.key);
      if (it == cur->end()) return false;
      cur = &*it;
    }
  }
  const Step& last = steps_.back();
  if (last.is_index) {
    if (!cur->is_array() || last.index >= cur->size()) return false;
    cur->erase(last.index);
    return true;
  }
  if (!cur->is_object()) return false;
  return cur->erase(last.key) > 0;
}

// ---------------------------------------------------------------------------------------
// Compiled activities

struct CompiledActivity::Impl {
  Kind kind = Kind::kChannel;
  std::string key;
  std::string name;
  std::optional<std::string> next;
  std::string target;  // channelName / datastoreName / lambdaName

  std::vector<std::pair<AttributePath, std::string>> add;  // addAttributes
  std::vector<AttributePath> paths;                        // remove/selectAttributes
  std::optional<iotsql::Expression> expr;                  // filter / math
  std::string attribute;                                   // math / enrich target
  std::optional<AttributePath> thing_path;                 // enrich
  size_t batch_size = 1;                                   // lambda
};

namespace {

using Kind = CompiledActivity::Kind;

const std::vector<std::pair<std::string, Kind>>& Kinds() {
  static const auto* kinds = new std::vector<std::pair<std::string, Kind>>{
      {"channel", Kind::kChannel},
      {"datastore", Kind::kDatastore},
      {"addAttributes", Kind::kAddAttributes},
      {"removeAttributes", Kind::kRemoveAttributes},
      {"selectAttributes", Kind::kSelectAttributes},
      {"filter", Kind::kFilter},
      {"math", Kind::kMath},
      {"lambda", Kind::kLambda},
      {"deviceRegistryEnrich", Kind::kDeviceRegistryEnrich},
      {"deviceShadowEnrich", Kind::kDeviceShadowEnrich},
  };
  return *kinds;
}

Result<std::string> StringMember(const Json& body, const std::string& activity,
                                 const char* member) {
  auto it = body.find(member);
  if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return Status::InvalidArgument("Activity '" + activity + "' requires a non-empty string '" +
                                   member + "'");
  }
  return it->get<std::string>();
}

// Keeps ctx.origins parallel to the messages an activity emits.
class Emitter {
 public:
  Emitter(ActivityContext& ctx, size_t input_size)
      : ctx_(ctx), track_(!ctx.origins.empty() && ctx.origins.size() == input_size) {
    if (!track_) ctx_.origins.clear();
    in_origins_ = std::move(ctx_.origins);
    ctx_.origins.clear();
  }
  ~Emitter() { ctx_.origins = std::move(out_origins_); }
  Emitter(const Emitter&) = delete;
  Emitter& operator=(const Emitter&) = delete;

  bool tracking() const { return track_; }
  const Origin& origin(size_t i) const { return in_origins_[i]; }

  void Keep(Json msg, size_t input_index) {
    out_.push_back(std::move(msg));
    if (track_) out_origins_.push_back(in_origins_[input_index]);
  }
  void KeepWithOrigin(Json msg, const Origin& o) {
    out_.push_back(std::move(msg));
    if (track_) out_origins_.push_back(o);
  }
  std::vector<Json> Take() { return std::move(out_); }

 private:
  ActivityContext& ctx_;
  bool track_;
  std::vector<Origin> in_origins_;
  std::vector<Origin> out_origins_;
  std::vector<Json> out_;
};

// A number from a math expression as it is stored: integral values as integers (AWS
// shows ((68 - 32) * 5.0) / 9.0 as 20), others as doubles; non-finite is not a number.
std::optional<Json> NumericResult(const Json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return v;
  if (!v.is_number_float()) return std::nullopt;
  double d = v.get<double>();
  if (!std::isfinite(d)) return std::nullopt;
  if (d == std::trunc(d) && std::fabs(d) < 9.0e15) return Json(static_cast<int64_t>(d));
  return v;
}

}  // namespace

Result<CompiledActivity> CompiledActivity::Compile(const Json& activity) {
  if (!activity.is_object() || activity.size() != 1) {
    return Status::InvalidArgument(
        "A pipeline activity must be an object with exactly one activity key");
  }
  const std::string key = activity.begin().key();
  const Json& body = activity.begin().value();
  auto kind_it =
      std::find_if(Kinds().begin(), Kinds().end(), [&](const auto& k) { return k.first == key; });
  if (kind_it == Kinds().end()) {
    return Status::InvalidArgument("Unknown pipeline activity type '" + key + "'");
  }
  if (!body.is_object()) {
    return Status::InvalidArgument("Activity '" + key + "' must be a JSON object");
  }
  auto impl = std::make_shared<Impl>();
  impl->kind = kind_it->second;
  impl->key = key;
  ASSIGN_OR_RETURN(impl->name, StringMember(body, key, "name"));
  if (auto it = body.find("next"); it != body.end() && it->is_string()) {
    impl->next = it->get<std::string>();
  }
  const std::string who = key + " activity '" + impl->name + "'";

  switch (impl->kind) {
    case Kind::kChannel: {
      ASSIGN_OR_RETURN(impl->target, StringMember(body, key, "channelName"));
      break;
    }
    case Kind::kDatastore: {
      ASSIGN_OR_RETURN(impl->target, StringMember(body, key, "datastoreName"));
      break;
    }
    case Kind::kAddAttributes: {
      auto it = body.find("attributes");
      if (it == body.end() || !it->is_object() || it->empty()) {
        return Status::InvalidArgument(who + " requires 'attributes': a map of path to name");
      }
      for (const auto& [path_text, new_name] : it->items()) {
        if (!new_name.is_string() || new_name.get_ref<const std::string&>().empty()) {
          return Status::InvalidArgument(who + ": the new name for '" + path_text +
                                         "' must be a non-empty string");
        }
        ASSIGN_OR_RETURN(AttributePath p, AttributePath::Parse(path_text));
        impl->add.emplace_back(std::move(p), new_name.get<std::string>());
      }
      break;
    }
    case Kind::kRemoveAttributes:
    case Kind::kSelectAttributes: {
      auto it = body.find("attributes");
      if (it == body.end() || !it->is_array() || it->empty()) {
        return Status::InvalidArgument(who + " requires 'attributes': a list of paths");
      }
      for (const Json& a : *it) {
        if (!a.is_string()) return Status::InvalidArgument(who + ": attributes must be strings");
        ASSIGN_OR_RETURN(AttributePath p, AttributePath::Parse(a.get<std::string>()));
        impl->paths.push_back(std::move(p));
      }
      break;
    }
    case Kind::kFilter:
    case Kind::kMath: {
      const char* member = impl->kind == Kind::kFilter ? "filter" : "math";
      ASSIGN_OR_RETURN(std::string text, StringMember(body, key, member));
      auto expr = iotsql::Expression::Parse(
          text, impl->kind == Kind::kMath ? iotsql::Dialect::kMath : iotsql::Dialect::kFull);
      if (!expr.ok()) {
        return Status::InvalidArgument(who + ": " + expr.status().message());
      }
      impl->expr = std::move(expr).value();
      if (impl->kind == Kind::kMath) {
        ASSIGN_OR_RETURN(impl->attribute, StringMember(body, key, "attribute"));
      }
      break;
    }
    case Kind::kLambda: {
      ASSIGN_OR_RETURN(impl->target, StringMember(body, key, "lambdaName"));
      auto it = body.find("batchSize");
      if (it == body.end() || !it->is_number_integer() || it->get<int64_t>() < 1 ||
          it->get<int64_t>() > 1000) {
        return Status::InvalidArgument(who + " requires 'batchSize' between 1 and 1000");
      }
      impl->batch_size = static_cast<size_t>(it->get<int64_t>());
      break;
    }
    case Kind::kDeviceRegistryEnrich:
    case Kind::kDeviceShadowEnrich: {
      ASSIGN_OR_RETURN(impl->attribute, StringMember(body, key, "attribute"));
      ASSIGN_OR_RETURN(std::string thing, StringMember(body, key, "thingName"));
      ASSIGN_OR_RETURN(AttributePath p, AttributePath::Parse(thing));
      impl->thing_path = std::move(p);
      break;
    }
  }
  CompiledActivity out;
  out.impl_ = std::move(impl);
  return out;
}

CompiledActivity::Kind CompiledActivity::kind() const { return impl_->kind; }
const std::string& CompiledActivity::key() const { return impl_->key; }
const std::string& CompiledActivity::name() const { return impl_->name; }
const std::optional<std::string>& CompiledActivity::next() const { return impl_->next; }
const std::string& CompiledActivity::target() const { return impl_->target; }

Result<std::vector<Json>> CompiledActivity::Apply(std::vector<Json> messages,
                                                  ActivityContext& ctx) const {
  const Impl& a = *impl_;
  if (a.kind == Kind::kChannel || a.kind == Kind::kDatastore) {
    return Status::InvalidArgument("The " + a.key +
                                   " activity is the pipeline's source/sink and cannot be run "
                                   "on messages");
  }
  Emitter emit(ctx, messages.size());

  if (a.kind == Kind::kLambda) {
    for (size_t begin = 0; begin < messages.size(); begin += a.batch_size) {
      size_t end = std::min(messages.size(), begin + a.batch_size);
      Json batch = Json::array();
      for (size_t i = begin; i < end; ++i) batch.push_back(std::move(messages[i]));
      std::optional<Origin> cover;
      if (emit.tracking()) {
        Origin o = emit.origin(begin);
        for (size_t i = begin + 1; i < end; ++i) {
          o.first_offset = std::min(o.first_offset, emit.origin(i).first_offset);
          o.last_offset = std::max(o.last_offset, emit.origin(i).last_offset);
        }
        cover = o;
      }
      Result<Json> out =
          ctx.lambdas == nullptr
              ? Result<Json>(
                    Status::Unavailable("No lambda functions are configured on this server"))
              : ctx.lambdas->Invoke(a.target, batch, ctx.lambda_timeout_ms, ctx.cancel);
      if (!out.ok()) {
        LambdaFailure f;
        f.activity_name = a.name;
        f.lambda_name = a.target;
        f.message = out.status().message();
        f.message_count = end - begin;
        f.origin = cover;
        ctx.lambda_failures.push_back(std::move(f));
        ctx.Drop(kDropLambdaFailed, end - begin);
        ctx.Log("lambda activity '" + a.name + "' failed for " + std::to_string(end - begin) +
                " message(s): " + out.status().message());
        continue;
      }
      for (Json& m : *out) {
        emit.KeepWithOrigin(std::move(m), cover.value_or(Origin{}));
      }
    }
    return emit.Take();
  }

  for (size_t i = 0; i < messages.size(); ++i) {
    Json& msg = messages[i];
    if (!msg.is_object()) {
      ctx.Drop(kDropInvalidJson);
      ctx.Log(a.key + " activity '" + a.name + "': message " + std::to_string(i) +
              " is not a JSON object; dropped");
      continue;
    }
    switch (a.kind) {
      case Kind::kAddAttributes: {
        std::vector<std::pair<std::string, Json>> adds;
        for (const auto& [path, new_name] : a.add) {
          if (const Json* v = path.Find(msg)) adds.emplace_back(new_name, *v);
        }
        for (auto& [k, v] : adds) msg[k] = std::move(v);
        emit.Keep(std::move(msg), i);
        break;
      }
      case Kind::kRemoveAttributes: {
        for (const AttributePath& p : a.paths) p.Remove(msg);
        if (msg.empty()) {
          ctx.Drop(kDropEmptyAfterRemove);
          break;
        }
        emit.Keep(std::move(msg), i);
        break;
      }
      case Kind::kSelectAttributes: {
        Json out = Json::object();
        for (const AttributePath& p : a.paths) {
          if (const Json* v = p.Find(msg)) out[p.LastName()] = *v;
        }
        if (out.empty()) {
          ctx.Drop(kDropEmptyAfterSelect);
          break;
        }
        emit.Keep(std::move(out), i);
        break;
      }
      case Kind::kFilter: {
        if (!a.expr->EvalCondition(msg)) {
          ctx.Drop(kDropFiltered);
          break;
        }
        emit.Keep(std::move(msg), i);
        break;
      }
      case Kind::kMath: {
        iotsql::Value v = a.expr->Eval(msg);
        std::optional<Json> num = v ? NumericResult(*v) : std::nullopt;
        if (num) msg[a.attribute] = std::move(*num);
        emit.Keep(std::move(msg), i);
        break;
      }
      case Kind::kDeviceRegistryEnrich:
      case Kind::kDeviceShadowEnrich: {
        const Json* thing = a.thing_path->Find(msg);
        if (thing == nullptr || !thing->is_string()) {
          emit.Keep(std::move(msg), i);
          break;
        }
        const std::string& thing_name = thing->get_ref<const std::string&>();
        if (ctx.things != nullptr) {
          Result<std::optional<Json>> doc = a.kind == Kind::kDeviceRegistryEnrich
                                                ? ctx.things->DescribeThing(thing_name)
                                                : ctx.things->GetShadow(thing_name);
          if (!doc.ok()) {
            ctx.Log(a.key + " activity '" + a.name + "': lookup of thing '" + thing_name +
                    "' failed: " + doc.status().message());
          } else if (doc->has_value()) {
            msg[a.attribute] = std::move(**doc);
          }
        }
        emit.Keep(std::move(msg), i);
        break;
      }
      default:
        emit.Keep(std::move(msg), i);
        break;
    }
  }
  return emit.Take();
}

Result<std::vector<Json>> ApplyActivity(const Json& activity, std::vector<Json> messages,
                                        ActivityContext& ctx) {
  ASSIGN_OR_RETURN(CompiledActivity a, CompiledActivity::Compile(activity));
  return a.Apply(std::move(messages), ctx);
}

// ---------------------------------------------------------------------------------------
// Chains

Result<ActivityChain> ActivityChain::Compile(const Json& definition) {
  const Json* list = nullptr;
  if (definition.is_object()) {
    auto it = definition.find("activities");
    if (it != definition.end()) list = &*it;
  }
  if (list == nullptr || !list->is_array() || list->empty()) {
    return Status::InvalidArgument("A pipeline definition needs a non-empty 'activities' list");
  }
  std::vector<CompiledActivity> all;
  std::unordered_map<std::string, size_t> by_name;
  std::optional<size_t> channel;
  for (const Json& a : *list) {
    ASSIGN_OR_RETURN(CompiledActivity c, CompiledActivity::Compile(a));
    if (!by_name.emplace(c.name(), all.size()).second) {
      return Status::InvalidArgument("Duplicate activity name '" + c.name() + "'");
    }
    if (c.kind() == Kind::kChannel) {
      if (channel)
        return Status::InvalidArgument("A pipeline must have exactly one channel activity");
      channel = all.size();
    }
    all.push_back(std::move(c));
  }
  if (!channel) return Status::InvalidArgument("A pipeline must have a channel activity");

  ActivityChain chain;
  chain.channel = all[*channel].target();
  std::set<size_t> seen = {*channel};
  const CompiledActivity* cur = &all[*channel];
  while (true) {
    if (!cur->next()) {
      return Status::InvalidArgument("Activity '" + cur->name() +
                                     "' has no 'next' but the chain has not reached a datastore "
                                     "activity");
    }
    auto it = by_name.find(*cur->next());
    if (it == by_name.end()) {
      return Status::InvalidArgument("Activity '" + cur->name() +
                                     "' names unknown next activity '" + *cur->next() + "'");
    }
    if (!seen.insert(it->second).second) {
      return Status::InvalidArgument("The activity chain has a cycle at '" + *cur->next() + "'");
    }
    cur = &all[it->second];
    if (cur->kind() == Kind::kDatastore) {
      chain.datastore = cur->target();
      break;
    }
    if (cur->kind() == Kind::kChannel) {
      return Status::InvalidArgument("The activity chain returns to the channel activity");
    }
    chain.steps.push_back(*cur);
  }
  return chain;
}

std::vector<Json> ActivityChain::Run(std::vector<Json> messages, ActivityContext& ctx) const {
  for (const CompiledActivity& step : steps) {
    const size_t n = messages.size();
    Result<std::vector<Json>> out = step.Apply(std::move(messages), ctx);
    if (!out.ok()) {  // not reachable for compiled chains; never lose count
      ctx.Drop(kDropActivityError, n);
      ctx.Log(out.status().message());
      ctx.origins.clear();
      return {};
    }
    messages = std::move(out).value();
  }
  Emitter emit(ctx, messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    if (!messages[i].is_object()) {
      ctx.Drop(kDropInvalidJson);
      ctx.Log("message " + std::to_string(i) +
              " reaching the datastore is not a JSON object; dropped");
    } else if (messages[i].empty()) {
      ctx.Drop(kDropEmptyMessage);
    } else {
      emit.Keep(std::move(messages[i]), i);
    }
  }
  return emit.Take();
}

}  // namespace sluice::pipeline
