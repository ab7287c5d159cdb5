#include "things/shadow_document.h"

#include <string>

#include <gtest/gtest.h>

namespace sluice::shadow {
namespace {

using Json = nlohmann::json;

Json J(const char* text) { return Json::parse(text); }

Status Validate(const char* text) { return ValidateUpdateRequest(J(text)); }

TEST(ShadowValidateTest, AcceptsWellFormedRequests) {
  EXPECT_TRUE(Validate(R"({"state":{"desired":{"a":1}}})").ok());
  EXPECT_TRUE(Validate(R"({"state":{"reported":{"a":[1,2]},"desired":null}})").ok());
  EXPECT_TRUE(Validate(R"({"state":null})").ok());
  EXPECT_TRUE(Validate(R"({"state":{},"version":3,"clientToken":"abc","extra":1})").ok());
}

TEST(ShadowValidateTest, RejectsMalformedRequests) {
  EXPECT_EQ(Validate("[1]").code(), StatusCode::kInvalidArgument);
  Status st = Validate(R"({"desired":{}})");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "Missing required node: state");
  EXPECT_EQ(Validate(R"({"state":5})").message(), "State node must be an object");
  EXPECT_EQ(Validate(R"({"state":{"delta":{}}})").message(),
            "State contains an invalid node: 'delta'");
  EXPECT_EQ(Validate(R"({"state":{"desired":3}})").message(), "Desired node must be an object");
  EXPECT_EQ(Validate(R"({"state":{"reported":"x"}})").message(), "Reported node must be an object");
  EXPECT_FALSE(Validate(R"({"state":{},"version":-1})").ok());
  EXPECT_FALSE(Validate(R"({"state":{},"version":1.5})").ok());
  EXPECT_FALSE(Validate(R"({"state":{},"version":"1"})").ok());
  EXPECT_FALSE(Validate(R"({"state":{},"clientToken":7})").ok());
  std::string long_token(kMaxClientTokenBytes + 1, 'x');
  EXPECT_FALSE(
      ValidateUpdateRequest({{"state", Json::object()}, {"clientToken", long_token}}).ok());
  std::string ok_token(kMaxClientTokenBytes, 'x');
  EXPECT_TRUE(ValidateUpdateRequest({{"state", Json::object()}, {"clientToken", ok_token}}).ok());
}

TEST(ShadowValidateTest, NestingLimit) {
  // Six object levels under desired are fine, seven are not.
  EXPECT_TRUE(Validate(R"({"state":{"desired":{"a":{"b":{"c":{"d":{"e":{"f":1}}}}}}}})").ok());
  Status st = Validate(R"({"state":{"desired":{"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}}}})");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("levels of nesting"), std::string::npos);
}

TEST(ShadowApplyTest, MergesNestedObjectsAndStampsLeaves) {
  Json state = Json::object(), meta = Json::object();
  ApplyUpdate(J(R"({"desired":{"color":"red","cfg":{"a":1,"b":2}}})"), 100, &state, &meta);
  ApplyUpdate(J(R"({"desired":{"cfg":{"b":3}},"reported":{"color":"blue"}})"), 200, &state, &meta);
  EXPECT_EQ(state, J(R"({"desired":{"color":"red","cfg":{"a":1,"b":3}},
                          "reported":{"color":"blue"}})"));
  EXPECT_EQ(meta, J(R"({"desired":{"color":{"timestamp":100},
                                    "cfg":{"a":{"timestamp":100},"b":{"timestamp":200}}},
                         "reported":{"color":{"timestamp":200}}})"));
}

TEST(ShadowApplyTest, NullDeletesKeysSectionsAndEverything) {
  Json state = Json::object(), meta = Json::object();
  ApplyUpdate(J(R"({"desired":{"a":1,"b":{"c":2}},"reported":{"a":1}})"), 1, &state, &meta);
  ApplyUpdate(J(R"({"desired":{"a":null}})"), 2, &state, &meta);
  EXPECT_EQ(state, J(R"({"desired":{"b":{"c":2}},"reported":{"a":1}})"));
  EXPECT_FALSE(meta["desired"].contains("a"));
  // Deleting the last key of a nested object prunes it, and then the empty section.
  ApplyUpdate(J(R"({"desired":{"b":{"c":null}}})"), 3, &state, &meta);
  EXPECT_EQ(state, J(R"({"reported":{"a":1}})"));
  EXPECT_EQ(meta, J(R"({"reported":{"a":{"timestamp":1}}})"));
  ApplyUpdate(J(R"({"reported":null})"), 4, &state, &meta);
  EXPECT_EQ(state, Json::object());
  EXPECT_EQ(meta, Json::object());
  ApplyUpdate(J(R"({"desired":{"x":1},"reported":{"y":2}})"), 5, &state, &meta);
  ApplyUpdate(Json(), 6, &state, &meta);
  EXPECT_EQ(state, Json::object());
  EXPECT_EQ(meta, Json::object());
}

TEST(ShadowApplyTest, ScalarsArraysAndObjectsReplaceEachOther) {
  Json state = Json::object(), meta = Json::object();
  ApplyUpdate(J(R"({"reported":{"v":{"x":1}}})"), 1, &state, &meta);
  ApplyUpdate(J(R"({"reported":{"v":[1,{"k":2}]}})"), 2, &state, &meta);
  EXPECT_EQ(state["reported"]["v"], J(R"([1,{"k":2}])"));
  EXPECT_EQ(meta["reported"]["v"], J(R"([{"timestamp":2},{"k":{"timestamp":2}}])"));
  ApplyUpdate(J(R"({"reported":{"v":{"y":3}}})"), 3, &state, &meta);
  EXPECT_EQ(state["reported"]["v"], J(R"({"y":3})"));
  EXPECT_EQ(meta["reported"]["v"], J(R"({"y":{"timestamp":3}})"));
  ApplyUpdate(J(R"({"reported":{"v":7}})"), 4, &state, &meta);
  EXPECT_EQ(state["reported"]["v"], 7);
  EXPECT_EQ(meta["reported"]["v"], J(R"({"timestamp":4})"));
}

TEST(ShadowDeltaTest, DifferencesOnly) {
  EXPECT_EQ(Delta(J(R"({"a":1,"b":2,"c":{"x":1,"y":2},"d":[1,2],"e":"s"})"),
                  J(R"({"a":1,"b":3,"c":{"x":1,"y":5},"d":[1,2],"f":0})")),
            J(R"({"b":2,"c":{"y":2},"e":"s"})"));
  EXPECT_EQ(Delta(J(R"({"a":1.0,"d":[1,2]})"), J(R"({"a":1,"d":[2,1]})")), J(R"({"d":[1,2]})"));
  EXPECT_EQ(Delta(J(R"({"a":{"b":1}})"), J(R"({"a":{"b":1}})")), Json::object());
  EXPECT_EQ(Delta(J(R"({"a":1})"), Json()), J(R"({"a":1})"));
}

TEST(ShadowDocumentTest, GetDocumentCarriesDeltaOnlyWhenThereIsOne) {
  Json meta = J(R"({"desired":{"a":{"timestamp":1}}})");
  Json doc = GetDocument(J(R"({"desired":{"a":1},"reported":{"a":2}})"), meta, 4, 99);
  EXPECT_EQ(doc["state"]["delta"], J(R"({"a":1})"));
  EXPECT_EQ(doc["metadata"], meta);
  EXPECT_EQ(doc["version"], 4);
  EXPECT_EQ(doc["timestamp"], 99);
  doc = GetDocument(J(R"({"desired":{"a":2},"reported":{"a":2}})"), meta, 4, 99);
  EXPECT_FALSE(doc["state"].contains("delta"));
  doc = GetDocument(J(R"({"desired":{"a":2}})"), meta, 4, 99);
  EXPECT_EQ(doc["state"]["delta"], J(R"({"a":2})"));
  doc = GetDocument(J(R"({"reported":{"a":2}})"), Json::object(), 1, 5);
  EXPECT_FALSE(doc["state"].contains("delta"));
}

TEST(ShadowDocumentTest, AcceptedDocumentEchoesRequestState) {
  Json req = J(R"({"state":{"desired":{"a":1,"b":null}},"clientToken":"t1","version":2})");
  Json doc = AcceptedDocument(req, 3, 50);
  EXPECT_EQ(doc["state"], req["state"]);
  EXPECT_EQ(doc["metadata"], J(R"({"desired":{"a":{"timestamp":50},"b":{"timestamp":50}}})"));
  EXPECT_EQ(doc["version"], 3);
  EXPECT_EQ(doc["timestamp"], 50);
  EXPECT_EQ(doc["clientToken"], "t1");
  EXPECT_FALSE(AcceptedDocument(J(R"({"state":{}})"), 1, 1).contains("clientToken"));
}

TEST(ShadowDocumentTest, StateBytesIsCompactSize) {
  EXPECT_EQ(StateBytes(J(R"({ "desired" : { "a" : 1 } })")),
            std::string(R"({"desired":{"a":1}})").size());
}

}  // namespace
}  // namespace sluice::shadow
