#include "iotsql/expression.h"

#include <gtest/gtest.h>

#include <ostream>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "common/clock.h"

namespace sluice::iotsql {
namespace {

constexpr const char* kUndefined = "<undefined>";

// One worked example: evaluate `expr` against `input` (JSON text) and compare with `expected`
// (JSON text, compared through its serialization so 2 and 2.0 differ), or kUndefined.
struct Row {
  const char* input;
  const char* expr;
  const char* expected;
  const char* source;  // where the example comes from
};

void PrintTo(const Row& row, std::ostream* os) {
  *os << row.expr << " on " << row.input << " (" << row.source << ")";
}

std::string Describe(const Value& v) { return v ? v->dump() : kUndefined; }

void CheckRow(const Row& row, Dialect dialect = Dialect::kFull) {
  SCOPED_TRACE(std::string("expr: ") + row.expr + "  input: " + row.input +
               "  source: " + row.source);
  auto e = Expression::Parse(row.expr, dialect);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  Json input = Json::parse(row.input);
  Value got = e->Eval(input);
  std::string want = row.expected == std::string(kUndefined) ? std::string(kUndefined)
                                                             : Json::parse(row.expected).dump();
  EXPECT_EQ(Describe(got), want);
}

// --- iot-sql.md §6: every worked example that is an expression, or a SELECT converted to the
// equivalent nested query over the message (`(SELECT ... FROM * WHERE ...)`, where `*` is the
// whole message), plus its projections and WHERE conditions evaluated on their own.
const Row kReferenceRows[] = {
    // #1
    {R"({"color":"red","temperature":100})", "(SELECT color AS rgb FROM * WHERE temperature > 50)",
     R"({"rgb":"red"})", "#1"},
    {R"({"color":"red","temperature":100})", "temperature > 50", "true", "#1 WHERE"},
    // #2
    {R"({"color":"red","temperature":50})", "(SELECT * FROM *)",
     R"({"color":"red","temperature":50})", "#2"},
    // #3
    {R"({"color":"red","temperature":50})",
     "(SELECT color as my_color, temperature as fahrenheit FROM *)",
     R"({"my_color":"red","fahrenheit":50})", "#3"},
    // #4
    {R"({"color":"red","temperature":50})", "(SELECT *, 15 as speed FROM *)",
     R"({"color":"red","temperature":50,"speed":15})", "#4"},
    // #5
    {R"({"color":"red","temperature":50})", "(SELECT VALUE color FROM *)", R"("red")", "#5"},
    // #6
    {R"({"color":{"red":255,"green":0,"blue":0},"temperature":50})", "color.red", "255", "#6"},
    {R"({"color":{"red":255,"green":0,"blue":0},"temperature":50})",
     "(SELECT color.red as red_value FROM *)", R"({"red_value":255})", "#6"},
    // #7
    {R"({"color":"red","temperature":50})", "(temperature - 32) * 5 / 9", "10", "#7"},
    {R"({"color":"red","temperature":50})", "upper(color)", R"("RED")", "#7"},
    {R"({"color":"red","temperature":50})",
     "(SELECT (temperature - 32) * 5 / 9 AS celsius, upper(color) as my_color FROM *)",
     R"({"celsius":10,"my_color":"RED"})", "#7"},
    // #8
    {R"({"color":"red","temperature":40})", "temperature > 50 AND color <> 'red'", "false", "#8"},
    {R"({"color":"red","temperature":40})",
     "(SELECT color AS my_color FROM * WHERE temperature > 50 AND color <> 'red')", kUndefined,
     "#8"},
    // #9 (payload bytes `80` are the JSON number 80)
    {"80", "decode(encode(*, 'base64'), 'base64')", "80", "#9"},
    {"80", "decode(encode(*, 'base64'), 'base64') > 50", "true", "#9 WHERE"},
    {"80", "encode(*, 'base64')", R"("ODA=")", "#9 / §3.4 encode"},
    // #10
    {R"({"a":{"b":"c"},"arr":[1,2,3,4]})", "(SELECT VALUE arr FROM *)", "[1,2,3,4]", "#10"},
    // #11, #12
    {R"({"color":"yellow"})",
     "CASE color WHEN 'green' THEN 'go' WHEN 'yellow' THEN 'caution' WHEN 'red' THEN 'stop' "
     "ELSE 'you are not at a stop light' END",
     R"("caution")", "#11"},
    {R"({})",
     "CASE color WHEN 'green' THEN 'go' WHEN 'yellow' THEN 'caution' WHEN 'red' THEN 'stop' "
     "ELSE 'you are not at a stop light' END",
     kUndefined, "#12"},
    {R"({})",
     "(SELECT CASE color WHEN 'green' THEN 'go' ELSE 'you are not at a stop light' END as "
     "instructions FROM *)",
     "{}", "#12"},
    // #13
    {R"({"lat_long":[47.606,-122.332]})",
     "{'latitude': get(lat_long, 0),'longitude':get(lat_long, 1)}",
     R"({"latitude":47.606,"longitude":-122.332})", "#13"},
    // #14
    {R"({"lat":47.606,"long":-122.332})", "[lat,long]", "[47.606,-122.332]", "#14"},
    // #15, #16, #17
    {R"({"e":[{"n":"temperature","u":"Cel","t":1234,"v":22.5},{"n":"light","u":"lm","t":1235,"v":135},{"n":"acidity","u":"pH","t":1235,"v":7}]})",
     "(SELECT VALUE n FROM e)", R"(["temperature","light","acidity"])", "#15"},
    {R"({"e":[{"n":"temperature","u":"Cel","t":1234,"v":22.5},{"n":"light","u":"lm","t":1235,"v":135},{"n":"acidity","u":"pH","t":1235,"v":7}]})",
     "(SELECT v FROM e WHERE n = 'temperature')", R"([{"v":22.5}])", "#16"},
    {R"({"e":[{"n":"temperature","u":"Cel","t":1234,"v":22.5},{"n":"light","u":"lm","t":1235,"v":135},{"n":"acidity","u":"pH","t":1235,"v":7}]})",
     "get((SELECT v FROM e WHERE n = 'temperature'), 0).v", "22.5", "#17"},
    // #18
    {R"({"mydata":{"item2":{"0":{"my-key":"myValue"}}}})",
     R"(get(get(get(mydata,"item2"),"0"),"my-key") = "myValue")", "true", "#18"},
    {R"({"mydata":{"item2":{"0":{"my-key":"myValue"}}}})",
     R"((SELECT * FROM * WHERE get(get(get(mydata,"item2"),"0"),"my-key") = "myValue"))",
     R"({"mydata":{"item2":{"0":{"my-key":"myValue"}}}})", "#18"},
    // #19
    {R"({"deviceid":"iot123","temp":54.98,"humidity":32.43,"coords":{"latitude":47.615694,"longitude":-122.3359976}})",
     "(SELECT temp, md5(deviceid) AS hashed_id FROM *)",
     R"({"temp":54.98,"hashed_id":"e37f81fb397e595c4aeb5645b8cbbbd1"})", "#19"},
    // #20
    {R"({"encoded_temp":"eyAidGVtcGVyYXR1cmUiOiAzMyB9Cg=="})",
     R"(decode(encoded_temp,"base64").temperature)", "33", "#20"},
    // #21
    {R"({"foo":null})", "foo", "null", "#21"},
    {R"({"foo":null})", "bar", kUndefined, "#21"},
    {R"({"foo":null})", "(SELECT foo, bar FROM *)", R"({"foo":null})", "#21"},
    // #22, #23
    {R"({"color":"red"})", "temperature > 50", kUndefined, "#22"},
    {R"({"color":"red"})", "(SELECT * FROM * WHERE temperature > 50)", kUndefined, "#22"},
    {R"({"color":"red"})", "temperature", kUndefined, "#23"},
    // #24, #25
    {R"({"attributes":{"data1":1,"data2":2},"values":[{"a":3},{"b":4},{"c":5}]})",
     R"(transform("enrichArray", attributes, values))",
     R"([{"a":3,"data1":1,"data2":2},{"b":4,"data1":1,"data2":2},{"c":5,"data1":1,"data2":2}])",
     "#24"},
    {R"({"attributes":{"data1":1,"data2":2},"values":[{"a":3},{"b":4},{"c":5}]})",
     R"(transform("enrichArray", {"key": attributes.data1}, values))",
     R"([{"a":3,"key":1},{"b":4,"key":1},{"c":5,"key":1}])", "#25"},
    // #28
    {"{}", "NULL", "null", "#28"},
    {"{}", "(SELECT NULL AS n FROM *)", R"({"n":null})", "#28"},
    // #32
    {"{}", "abs(-5)", "5", "#32"},
    {"{}", R"(abs("-5.123"))", "5.123", "#32"},
    // #33
    {"{}", "ceil(1.2)", "2", "#33"},
    {"{}", "ceil(-1.2)", "-1", "#33"},
    {"{}", "floor(1.2)", "1", "#33"},
    {"{}", "floor(-1.2)", "-2", "#33"},
    // #34
    {"{}", "round(1.2)", "1", "#34"},
    {"{}", "round(1.5)", "2", "#34"},
    {"{}", "round(1.7)", "2", "#34"},
    {"{}", "round(-1.1)", "-1", "#34"},
    {"{}", "round(-1.5)", "-2", "#34"},
    // #35
    {"{}", "trunc(2.3,0)", "2", "#35"},
    {"{}", "trunc(2.3123,2)", "2.31", "#35"},
    {"{}", "trunc(2.888,2)", "2.88", "#35"},
    {"{}", "trunc(2.00,5)", "2", "#35"},
    // #36
    {"{}", "sign(-7)", "-1", "#36"},
    {"{}", "sign(0)", "0", "#36"},
    {"{}", "sign(13)", "1", "#36"},
    {"{}", "mod(8,3)", "2", "#36"},
    {"{}", "remainder(8,3)", "2", "#36"},
    {"{}", "8 % 3", "2", "#36"},
    // #37
    {"{}", "power(2,5)", "32", "#37"},
    {"{}", "sqrt(9)", "3", "#37"},
    {"{}", "log(100)", "2", "#37"},
    {"{}", "ln(exp(1))", "1", "#37"},
    // #38
    {"{}", "acos(0)", "1.5707963267948966", "#38"},
    {"{}", "atan2(1,0)", "1.5707963267948966", "#38"},
    {"{}", "cosh(2.3)", "5.037220649268761", "#38"},
    {"{}", "sinh(2.3)", "4.936961805545957", "#38"},
    {"{}", "tanh(2.3)", "0.9800963962661914", "#38"},
    {"{}", "tan(3)", "-0.1425465430742778", "#38"},
    // #39
    {"{}", "bitand(13,5)", "5", "#39"},
    {"{}", "bitor(8,5)", "13", "#39"},
    {"{}", "bitxor(13,5)", "8", "#39 (§7 #2)"},
    {"{}", "bitnot(13)", "2", "§3.2 / §7 #3"},
    // #40
    {"{}", "cast(true as Int)", "1", "#40"},
    {"{}", "nanvl(8,3)", "8", "#40"},
    // #41
    {"{}", "chr(65)", R"("A")", "#41"},
    {"{}", "chr(49)", R"("1")", "#41"},
    // #42
    {"{}", "concat()", kUndefined, "#42"},
    {"{}", "concat([1,2,3],4)", "[1,2,3,4]", "#42"},
    {"{}", R"(concat([1,2,3],"hello"))", R"([1,2,3,"hello"])", "#42"},
    {"{}", R"(concat("con","cat"))", R"("concat")", "#42"},
    {"{}", R"(concat(1,"hello"))", R"("1hello")", "#42"},
    {"{}", R"(concat("he","is","man"))", R"("heisman")", "#42"},
    {"{}", R"(concat([1,2,3],"hello",[4,5,6]))", R"([1,2,3,"hello",4,5,6])", "#42"},
    {"{}", "concat(1)", "1", "§7 #5"},
    // #43
    {"{}", R"(lower("HELLO"))", R"("hello")", "#43"},
    {"{}", R"(lower(["HELLO"]))", R"("[\"hello\"]")", "#43"},
    {"{}", R"(upper("hello"))", R"("HELLO")", "#43"},
    {"{}", R"(upper(["hello"]))", R"("[\"HELLO\"]")", "#43"},
    // #44
    {"{}", R"(length("hi"))", "2", "#44"},
    {"{}", "length(false)", "5", "#44"},
    {"{}", R"(numbytes("hi"))", "2", "#44"},
    {"{}", "numbytes(\"\xE2\x82\xAC\")", "3", "#44"},
    // #45
    {"{}", R"(substring("012345",0))", R"("012345")", "#45"},
    {"{}", R"(substring("012345",2))", R"("2345")", "#45"},
    {"{}", R"(substring("012345",2.745))", R"("2345")", "#45"},
    {"{}", "substring(123,2)", R"("3")", "#45"},
    {"{}", R"(substring("012345",-1))", R"("012345")", "#45"},
    {"{}", "substring(true,1.2)", R"("rue")", "#45"},
    {"{}", "substring(false,-2.411E247)", R"("false")", "#45"},
    {"{}", R"(substring("012345",1,3))", R"("12")", "#45"},
    {"{}", R"(substring("012345",-50,50))", R"("012345")", "#45"},
    {"{}", R"(substring("012345",3,1))", R"("")", "#45"},
    // #46
    {"{}", R"(trim(" hi "))", R"("hi")", "#46"},
    {"{}", R"(rtrim(" h i "))", R"(" h i")", "#46"},
    {"{}", R"(ltrim(" h i "))", R"("h i ")", "§7 #6"},
    {"{}", R"(lpad("hello",2))", R"("  hello")", "#46"},
    {"{}", "lpad(1,3)", R"("   1")", "#46"},
    {"{}", R"(rpad("hello",2))", R"("hello  ")", "#46"},
    {"{}", "rpad(1,3)", R"("1   ")", "#46"},
    // #47
    {"{}", R"(replace("abcd","bc","x"))", R"("axd")", "#47"},
    {"{}", R"(replace("abcdabcd","b","x"))", R"("axcdaxcd")", "#47"},
    // #48
    {"{}", R"(regexp_matches("aaaa","a{2,}"))", "true", "#48"},
    {"{}", R"(regexp_matches("aaaa","b"))", "false", "#48"},
    {"{}", R"(regexp_replace("abcd","bc","x"))", R"("axd")", "#48"},
    {"{}", R"(regexp_replace("abcd","b(.*)d","$1"))", R"("ac")", "#48"},
    {"{}", R"(regexp_substr("hihihello","hi"))", R"("hi")", "#48"},
    {"{}", R"(regexp_substr("hihihello","(hi)*"))", R"("hihi")", "#48"},
    // #49
    {"{}", R"(startswith("ranger","ran"))", "true", "#49"},
    {"{}", R"(endswith("cat","at"))", "true", "#49"},
    {"{}", R"(indexof("abcd","bc"))", "1", "#49"},
    // #50
    {"{}", R"(get(["a","b","c"],1))", R"("b")", "#50"},
    {"{}", R"(get({"a":"b"},"a"))", R"("b")", "#50"},
    {"{}", "get([1,2],5)", kUndefined, "#50"},
    {"{}", "get([1,2],-1)", kUndefined, "#50"},
    {"{}", R"(get("abc",1))", R"("b")", "§7 #4"},
    // #51
    {"{}", "isNull(5)", "false", "#51"},
    {"{}", "isNull(Null)", "true", "#51"},
    {"{}", "isUndefined(5)", "false", "#51"},
    {"{}", "isUndefined(floor([1,2,3]))", "true", "#51"},
    // #52
    {"{}", R"(md5("hello"))", R"("5d41402abc4b2a76b9719d911017c592")", "#52"},
    {"{}", R"(md2("hello"))", R"("a9046c73e00331af68917d3804f70655")", "#52"},
    {"{}", R"(sha1("hello"))", R"("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d")", "#52"},
    {"{}", R"(sha256("hello"))",
     R"("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")", "#52"},
    // #53
    {"{}", R"(parse_time("yyyy.MM.dd G 'at' HH:mm:ss z", 100000000, 'America/Belize'))",
     R"("1970.01.01 AD at 21:46:40 CST")", "#53"},
    // #54
    {"{}", R"(time_to_epoch("2020-04-03 09:45:18 UTC+01:00","yyyy-MM-dd HH:mm:ss VV"))",
     "1585903518000", "#54"},
    {"{}", R"(time_to_epoch("18 December 2015","dd MMMM yyyy"))", "1450396800000", "#54"},
    {"{}",
     R"(time_to_epoch("2007-12-03 10:15:30.592 America/Los_Angeles","yyyy-MM-dd HH:mm:ss.SSS z"))",
     "1196705730592", "#54"},
    // #55
    {"{}", R"("1" + 2)", R"("12")", "#55"},
    {"{}", R"("5" - 2)", "3", "#55"},
    {"{}", R"("a" + true)", R"("atrue")", "#55"},
    {"{}", "true + 1", kUndefined, "#55"},
    // #56
    {"{}", "10 = 10.0", "true", "#56"},
    {"{}", R"("5" = 5)", "false", "#56"},
    {"{}", R"("5" > 4)", "true", "#56"},
    {"{}", "'b' > 'a'", kUndefined, "#56"},
    {"{}", "NULL <> NULL", "false", "#56"},
    // #57
    {"{}", "[1,2] = [1,2]", "true", "#57"},
    {"{}", "[1,2] = [2,1]", "false", "#57"},
    {"{}", R"({"a":1,"b":2} = {"b":2,"a":1})", "true", "#57"},
    // #58
    {"{}", R"(true AND "TRUE")", "true", "#58"},
    {"{}", R"(NOT "false")", "true", "#58"},
    {"{}", "true AND 1", kUndefined, "#58"},
    {"{}", "true OR missing_attr", kUndefined, "#58"},
    // #59
    {"{}", R"(abs(" 5"))", kUndefined, "#59"},
    {"{}", R"(abs("1E+5"))", kUndefined, "#59"},
    {"{}", R"(abs("1e5"))", "100000", "#59"},
    {"{}", "abs(true)", kUndefined, "#59"},
    // #60
    {"{}", "cast(2.7 as Int)", "2", "#60"},
    {"{}", "cast(-2.7 as Int)", "-3", "#60"},
    {"{}", "cast(0 as Boolean)", "false", "#60"},
    {"{}", R"(cast("TRUE" as Boolean))", "true", "#60"},
    {"{}", "cast(NULL as Int)", kUndefined, "#60"},
    // #61
    {"{}", "7 / 2", "3", "#61"},
    {"{}", "-7 / 2", "-3", "#61"},
    {"{}", "7 % -2", "1", "#61"},
    {"{}", "1 / 0", kUndefined, "#61"},
    // #62
    {R"({"t":10.0})", "(SELECT * FROM *)", R"({"t":10})", "#62"},
    {R"({"t":10.0})", "t", "10", "#62"},
    // #63
    {R"({"tempF":50})", "(tempF - 32) / 2", "9", "#63"},
    // #64
    {R"({"humidity":52,"temp":68})", "((temp - 32) * 5.0) / 9.0", "20", "#64"},
    {R"({"humidity":52,"temp":32})", "((temp - 32) * 5.0) / 9.0", "0", "#64"},
    {R"({"humidity":52,"temp":70})", "((temp - 32) * 5.0) / 9.0", "21", "§2.5 (v2 Int division)"},
    // #65
    {R"({"temp":50,"hum":10})", "temp > 40 AND hum < 20", "true", "#65"},
    {R"({"temp":50,"hum":30})", "temp > 40 AND hum < 20", "false", "#65"},
    {R"({"hum":10})", "temp > 40 AND hum < 20", kUndefined, "#65"},
    // #70
    {R"({"temp":1})", "nosuch * 2", kUndefined, "#70"},
};

class ReferenceExamples : public ::testing::TestWithParam<Row> {};
TEST_P(ReferenceExamples, Evaluates) { CheckRow(GetParam()); }
INSTANTIATE_TEST_SUITE_P(IotSql, ReferenceExamples, ::testing::ValuesIn(kReferenceRows));

// --- aws-userguide math-*.md: every example on the 21 function pages, in the math dialect.
// Where a page's example is a typo that §7 #14 overrides, the row says so.
const Row kMathPageRows[] = {
    {"{}", "abs(-5)", "5", "math-abs"},
    {"{}", "acos(0)", "1.5707963267948966", "math-acos"},
    {"{}", "asin(0)", "0", "math-asin (0.0; whole numbers are Ints)"},
    {"{}", "atan(0)", "0", "math-atan"},
    {"{}", "atan2(1, 0)", "1.5707963267948966", "math-atan2 (written atan(1, 0))"},
    {"{}", "ceil(1.2)", "2", "math-ceil"},
    {"{}", "ceil(11.2)", "12", "math-ceil (page says -1; §7 #14)"},
    {"{}", "cos(0)", "1", "math-cos"},
    {"{}", "cosh(2.3)", "5.037220649268761", "math-cosh"},
    {"{}", "exp(1)", "2.718281828459045", "math-exp (page says 1; §7 #14)"},
    {"{}", "ln(exp(1))", "1", "math-ln (ln(e))"},
    {"{}", "log(100)", "2", "math-log"},
    {"{}", "mod(8, 3)", "2", "math-mod (page says 3; §7 #14)"},
    {"{}", "8 % 3", "2", "math-mod"},
    {"{}", "power(2, 5)", "32", "math-power"},
    {"{}", "Round(1.2)", "1", "math-round"},
    {"{}", "Round(1.5)", "2", "math-round"},
    {"{}", "Round(1.7)", "2", "math-round"},
    {"{}", "Round(-1.1)", "-1", "math-round"},
    {"{}", "Round(-1.5)", "-2", "math-round"},
    {"{}", "sign(-7)", "-1", "math-sign"},
    {"{}", "sign(0)", "0", "math-sign"},
    {"{}", "sign(13)", "1", "math-sign"},
    {"{}", "sin(0)", "0", "math-sin"},
    {"{}", "sinh(2.3)", "4.936961805545957", "math-sinh"},
    {"{}", "sqrt(9)", "3", "math-sqrt"},
    {"{}", "tan(3)", "-0.1425465430742778", "math-tan"},
    {"{}", "tanh(2.3)", "0.9800963962661914", "math-tanh"},
    {"{}", "trunc(2.3, 0)", "2", "math-trunc"},
    {"{}", "trunc(2.3123, 2)", "2.31", "math-trunc"},
    {"{}", "trunc(2.888, 2)", "2.88", "math-trunc"},
    {"{}", "trunc(2.00, 5)", "2", "math-trunc"},
    // Argument-type tables.
    {"{}", R"(acos("0"))", "1.5707963267948966", "math-acos String row"},
    {"{}", "acos(2)", kUndefined, "math-acos imaginary result"},
    {"{}", "asin(true)", kUndefined, "math-asin Boolean row"},
    {"{}", R"(ln("x"))", kUndefined, "math-ln String row (not convertible)"},
    {"{}", "ln(0)", kUndefined, "§3.2 ln of a value <= 0"},
    {"{}", "log(-1)", kUndefined, "§3.2 log of a value <= 0"},
    {"{}", "sqrt(-1)", kUndefined, "§3.2 sqrt(-1)"},
    {"{}", R"(sqrt("16"))", "4", "math-sqrt String row"},
    {"{}", R"(power("2", "0.5"))", "1.4142135623730951", "math-power String row"},
    {"{}", R"(power(2, "x"))", kUndefined, "math-power String row (not convertible)"},
    {"{}", "abs(-2.5)", "2.5", "math-abs Decimal row"},
    {"{}", R"(abs("-2.5"))", "2.5", "math-abs String row"},
    {"{}", R"(mod("8", 3))", "2", "math-mod String row"},
    {"{}", "mod(8.5, 3)", "2.5", "math-mod Decimal row"},
    {"{}", "mod(-8, 3)", "-2", "§2.5 remainder takes the dividend's sign"},
    {"{}", "mod(8, -3)", "2", "§2.5 remainder takes the dividend's sign"},
    {"{}", "mod(8, 0)", kUndefined, "§2.5 modulo by zero"},
    {"{}", "trunc(5, 2)", "5", "math-trunc Int/Int row"},
    {"{}", R"(trunc("2.567", 1))", "2.5", "math-trunc String row"},
    {"{}", "trunc(2.567, 1.9)", "2.5", "math-trunc second argument floored"},
    {"{}", "trunc(2.567, -3)", "2", "math-trunc negative places clamped to 0"},
    {"{}", "trunc(-2.567, 2)", "-2.56", "§3.2 negative x toward zero"},
    {"{}", R"(trunc(2.567, "1"))", kUndefined, "math-trunc second argument must be a number"},
    {"{}", "round(2.5)", "3", "math-round half up"},
    {"{}", R"(round("2.5"))", "3", "math-round String row"},
    {"{}", "round(7)", "7", "math-round Int row"},
    {"{}", "ceil(-0.5)", "0", "math-ceil"},
    {"{}", R"(sign("-0.1"))", "-1", "math-sign String row"},
    {"{}", "sign(0.0001)", "1", "math-sign Decimal row"},
    {"{}", "atan2(0, -1)", "3.141592653589793", "math-atan2"},
    {"{}", "atan2(1, 1)", "0.7853981633974483", "math-atan2"},
    {"{}", R"(atan2("1", "0"))", "1.5707963267948966", "math-atan2 String row"},
    {"{}", "cos(3.141592653589793)", "-1", "math-cos"},
    // pipeline-activities-math.md
    {R"({"tempF":50})", "(tempF - 32) / 2", "9", "pipeline-activities-math"},
    {R"({"humidity":52,"temp":68})", "((temp - 32) * 5.0) / 9.0", "20", "run-pipeline-activity"},
};

class MathPages : public ::testing::TestWithParam<Row> {};
TEST_P(MathPages, EvaluatesInMathDialect) { CheckRow(GetParam(), Dialect::kMath); }
INSTANTIATE_TEST_SUITE_P(IotSql, MathPages, ::testing::ValuesIn(kMathPageRows));

// --- Semantics the reference fixes by rule (§2) rather than by a worked example.
const Row kSemanticRows[] = {
    // Int vs Decimal arithmetic, v2 whole-number rule, decimal rendering.
    {"{}", "5 + 3", "8", "§2.5"},
    {"{}", "5.5 + 2.5", "8", "§2.1 whole-number rule"},
    {"{}", "0.1 + 0.2", "0.3", "§2.1 Decimal is decimal, not binary"},
    {"{}", "1.1 * 3", "3.3", "§2.1"},
    {"{}", "10.0 / 4", "2", "§2.5 10.0 is the Int 10"},
    {"{}", "10.5 / 4", "2.625", "§2.5 Decimal division"},
    {"{}", "1.5 % 1", "0.5", "§2.5 Decimal remainder"},
    {"{}", "-7 % 2", "-1", "§2.5 remainder sign"},
    {"{}", "9223372036854775807 + 1", "9.223372036854776e18", "Int overflow becomes Decimal"},
    {"{}", "-9223372036854775808", "-9223372036854775808", "most negative Int literal"},
    {"{}", "-9223372036854775808 / -1", "9.223372036854776e18", "Int overflow in division"},
    {"{}", "3000000000 * 3000000000", "9000000000000000000", "fits in Int"},
    {"{}", "30000000000 * 30000000000", "9e20", "overflow"},
    {"{}", "2.5e3", "2500", "exponent literal"},
    {"{}", "1e-3", "0.001", "exponent literal"},
    {"{}", "- 5", "-5", "unary minus"},
    {"{}", R"(-"5")", "-5", "§2.5 unary minus of a numeric string"},
    {"{}", R"(-"x")", kUndefined, "§2.5 unary minus of a non-numeric string"},
    {"{}", "-true", kUndefined, "§2.5"},
    {"{}", "-(2 - 5)", "3", "unary minus"},
    {"{}", "2 + 3 * 4", "14", "precedence"},
    {"{}", "(2 + 3) * 4", "20", "precedence"},
    {"{}", "10 - 4 - 3", "3", "left associativity"},
    {"{}", "100 / 10 / 5", "2", "left associativity"},
    {"{}", R"("5" * "2")", "10", "§2.5 strings convert for *"},
    {"{}", R"("5.5" - 1)", "4.5", "§2.5"},
    {"{}", R"("abc" - 1)", kUndefined, "§2.5"},
    {"{}", "null + 1", kUndefined, "§2.5 Null"},
    {"{}", R"("a" + null)", kUndefined, "§2.5 Null has no String form"},
    {"{}", R"("n=" + 1.5)", R"("n=1.5")", "§2.5 concatenation"},
    {"{}", R"('a' + [1,"b"])", R"("a[1,\"b\"]")", "§2.2 Array to String"},
    {"{}", "[1] + 1", kUndefined, "§2.5"},
    {R"({"x":null})", "x + 1", kUndefined, "§2.6"},
    {R"({"x":null})", "x > 1", kUndefined, "§2.6"},
    {R"({"x":null})", "x = x", "true", "§2.6"},
    {R"({"x":null})", "isNull(x)", "true", "§2.6"},
    {R"({"x":null})", "isUndefined(x)", "false", "§2.6"},
    {R"({})", "isNull(x)", "false", "§2.6"},
    {R"({})", "isUndefined(x)", "true", "§2.6"},
    // Comparisons.
    {"{}", "1 < 2", "true", "§2.4"},
    {"{}", "2 <= 2.0", "true", "§2.4"},
    {"{}", "2.5 > 2", "true", "§2.4"},
    {"{}", R"("10" >= 9.5)", "true", "§2.4 numeric strings"},
    {"{}", R"("abc" < 1)", kUndefined, "§2.4"},
    {"{}", "true > false", kUndefined, "§2.4 Boolean"},
    {"{}", "null < 1", kUndefined, "§2.4 Null"},
    {"{}", "missing < 1", kUndefined, "§2.4 Undefined"},
    {"{}", "missing = 1", kUndefined, "§2.4 Undefined"},
    {"{}", "missing <> 1", kUndefined, "§2.4 Undefined"},
    {"{}", "'a' = 'a'", "true", "§2.4"},
    {"{}", "'a' = 'A'", "false", "§2.4 case-sensitive"},
    {"{}", "'a' <> 'b'", "true", "§2.4"},
    {"{}", "'a' != 'b'", "true", "extension !="},
    {"{}", "true = true", "true", "§2.4"},
    {"{}", R"(true = "true")", "false", "§2.4 mismatched types"},
    {"{}", "null = 0", "false", "§2.4 mismatched types"},
    {"{}", "null = null", "true", "§2.4"},
    {"{}", R"("5" <> 5)", "true", "§2.4 mismatched types"},
    {"{}", "[1,[2,3]] = [1,[2,3.0]]", "true", "§2.4 nested arrays"},
    {"{}", R"({"a":1} = {"a":1,"b":2})", "false", "§2.4 objects"},
    // Logic with Undefined and strings.
    {"{}", "true AND false", "false", "§2.3"},
    {"{}", "true OR false", "true", "§2.3"},
    {"{}", "NOT true", "false", "§2.3"},
    {"{}", R"('TrUe' OR false)", "true", "§2.3"},
    {"{}", R"("yes" AND true)", kUndefined, "§2.3"},
    {"{}", "false AND missing", kUndefined, "§2.3 literal reading"},
    {"{}", "NOT missing", kUndefined, "§2.3"},
    {"{}", "NOT 1", kUndefined, "§2.3"},
    {"{}", "NOT 1 = 2", "true", "NOT binds looser than ="},
    {"{}", "true OR false AND false", "true", "AND binds tighter than OR"},
    {"{}", "NOT NOT true", "true", "§2.3"},
    // IS NULL / IS UNDEFINED (extension).
    {R"({"x":null})", "x IS NULL", "true", "IS NULL"},
    {R"({"x":1})", "x IS NULL", "false", "IS NULL"},
    {R"({})", "x IS NULL", "false", "IS NULL on Undefined"},
    {R"({"x":1})", "x IS NOT NULL", "true", "IS NOT NULL"},
    {R"({})", "x IS NOT NULL", "true", "IS NOT NULL on Undefined"},
    {R"({})", "x IS UNDEFINED", "true", "IS UNDEFINED"},
    {R"({"x":null})", "x is undefined", "false", "IS UNDEFINED"},
    {R"({"x":null})", "x IS NOT UNDEFINED", "true", "IS NOT UNDEFINED"},
    {R"({"x":5})", "x + 1 IS NOT NULL AND x > 1", "true", "IS binds like a comparison"},
    // Attribute paths.
    {R"({"a":{"b":{"c":7}}})", "a.b.c", "7", "nested path"},
    {R"({"a":[10,20,30]})", "a[0]", "10", "index"},
    {R"({"a":[10,20,30]})", "a[2]", "30", "index"},
    {R"({"a":[10,20,30]})", "a[3]", kUndefined, "index out of range"},
    {R"({"a":[10,20,30]})", "a[-1]", kUndefined, "negative index"},
    {R"({"a":[10,20,30]})", "a[1.7]", "20", "index floored"},
    {R"({"a":[10,20,30]})", "a['1']", "20", "index converted"},
    {R"({"a":{"b":[{"c":1},{"c":2}]}})", "a.b[1].c", "2", "mixed path"},
    {R"({"a":[[1,2],[3,4]]})", "a[1][0]", "3", "nested index"},
    {R"({"a":{"b":1}})", "a['b']", "1", "object member by string index"},
    {R"({"a":{"b":1}})", "a.b.c", kUndefined, "member of a number"},
    {R"({"a":{"b":1}})", "a.x.y", kUndefined, "missing intermediate"},
    {R"({"a":"xyz"})", "a[1]", R"("y")", "string index"},
    {R"({"a":1})", "A", kUndefined, "names are case-sensitive"},
    {R"({"a_1":3})", "a_1 * 2", "6", "identifier with digits"},
    {R"({"a":{"b":5}})", "get(a, 'b') + a.b", "10", "get and path"},
    {R"([1,2])", "x", kUndefined, "attribute of a non-object message"},
    {R"({"end":1})", "get(*, 'end')", "1", "reserved word read through get"},
    {R"({"value":4})", "value + 1", "5", "VALUE is not reserved"},
    {R"({"a":{"value":4}})", "a.value", "4", "member names may be any identifier"},
    {R"({"a":{"end":4}})", "a.end", "4", "member names may be reserved words"},
    // Strings and quoting.
    {"{}", "'it''s'", R"("it's")", "'' escape"},
    {"{}", R"('it\'s')", R"("it's")", "\\' escape"},
    {"{}", R"("say ""hi""")", R"("say \"hi\"")", "\"\" escape"},
    {"{}", R"('a\b')", R"("a\\b")", "other backslashes are literal"},
    {"{}", "''", R"("")", "empty string"},
    // CASE.
    {R"({"x":2})", "CASE x WHEN 1 THEN 'one' WHEN 2 THEN 'two' END", R"("two")", "§1.6"},
    {R"({"x":3})", "CASE x WHEN 1 THEN 'one' WHEN 2 THEN 'two' END", kUndefined, "§1.6 no ELSE"},
    {R"({"x":2.0})", "CASE x WHEN 2 THEN 'two' END", R"("two")", "§1.6 equality"},
    {R"({"x":"2"})", "CASE x WHEN 2 THEN 'two' ELSE 'other' END", R"("other")", "§1.6"},
    {R"({"x":5})", "CASE WHEN x > 3 THEN 'big' ELSE 'small' END", R"("big")", "searched CASE"},
    {R"({"x":1})", "CASE WHEN x > 3 THEN 'big' WHEN x > 0 THEN 'pos' END", R"("pos")",
     "searched CASE"},
    {R"({})", "CASE WHEN x > 3 THEN 'big' ELSE 'none' END", R"("none")", "searched CASE"},
    {R"({"x":1})", "case x when 1 then 'a' else 'b' end", R"("a")", "keywords any case"},
    // Literals and nested queries.
    {"{}", "[1, missing, 2]", "[1,2]", "Undefined array elements dropped"},
    {"{}", "{'a': missing, 'b': 1}", R"({"b":1})", "Undefined members dropped"},
    {"{}", "{}", "{}", "empty object literal"},
    {"{}", "[]", "[]", "empty array literal"},
    {"{}", "{'a': {'b': [1, 2]}}.a.b[1]", "2", "member access on a literal"},
    {R"({"a":{"x":1,"y":2}})", "(SELECT x, y AS z FROM a)", R"({"x":1,"z":2})", "§1.7 object"},
    {R"({"a":{"c":[1,2]}})", "(SELECT VALUE c FROM a)", "[1,2]", "§1.7 object VALUE"},
    {R"({"a":[{"x":1},{"x":2},{"y":3}]})", "(SELECT x FROM a)", R"([{"x":1},{"x":2},{}])",
     "nested query over array"},
    {R"({"a":[{"x":1},{"x":2}]})", "(select value x * 10 from a where x > 1)", "[20]",
     "nested query, lower-case keywords"},
    {R"({"a":{"x":1}})", "(SELECT x AS p.q FROM a)", R"({"p":{"q":1}})", "dotted alias §1.3"},
    {R"({"a":{"b":{"c":1}}})", "(SELECT b.c FROM a)", R"({"c":1})", "unaliased path key"},
    {R"({"a":{"x":-2}})", "(SELECT abs(x) FROM a)", R"({"abs":2})", "unaliased call key"},
    // Functions beyond the doc examples.
    {"{}", "sha224('hello')", R"("ea09ae9cc6768c50fcee903ed054556e5bfc8347907f12598aa24193")",
     "sha224"},
    {"{}", "sha384('')",
     R"("38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b")",
     "sha384"},
    {"{}", "sha512('')",
     R"("cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e")",
     "sha512"},
    {"{}", "md5(123)", R"("202cb962ac59075b964b07152d234b70")", "hash of a str-conv number"},
    {"{}", "md5(null)", kUndefined, "hash of Null"},
    {"{}", "ABS(-3)", "3", "case-insensitive function names"},
    {"{}", "aBs(-3)", "3", "case-insensitive function names"},
    {"{}", "indexof('abcd', 'x')", "-1", "indexof not found"},
    {"{}", "regexp_substr('abc', 'x')", R"("")", "regexp_substr no match"},
    {"{}", "regexp_matches('abc', '(')", kUndefined, "invalid regex"},
    {R"({"re":"b+"})", "regexp_replace('abbbc', re, '-')", R"("a-c")", "non-literal pattern"},
    {"{}", "regexp_replace('abc', 'b', '$9')", kUndefined, "invalid replacement"},
    {"{}", "startswith(null, 'a')", kUndefined, "§3.3 Null"},
    {"{}", "replace('aXbX', 'X', '')", R"("ab")", "replace with empty"},
    {"{}", "replace('ab', '', '-')", R"("-a-b-")", "replace empty target"},
    {"{}", "lpad('a', 2000)", "null", "placeholder: replaced in the test body"},
    {"{}", "chr(128)", kUndefined, "chr range"},
    {"{}", "chr('66')", R"("B")", "chr num-conv"},
    {"{}", "bitand('13', 5.9)", "5", "bit functions floor and convert"},
    {"{}", "bitnot(0)", "1", "bitnot"},
    {"{}", "bitnot(-14)", "13", "bitnot negative"},
    {"{}", "nanvl(missing, 3)", "3", "nanvl Undefined"},
    {"{}", "nanvl(null, 3)", "3", "nanvl Null"},
    {"{}", "cast(12 as String)", R"("12")", "cast"},
    {"{}", "cast(1.5 as String)", R"("1.5")", "cast"},
    {"{}", "cast([1] as String)", R"("[1]")", "cast"},
    {"{}", "cast(null as String)", kUndefined, "cast"},
    {"{}", "cast('1.9' as Int)", "1", "cast"},
    {"{}", "cast('x' as Int)", kUndefined, "cast"},
    {"{}", "cast(false as Decimal)", "0", "cast"},
    {"{}", "cast('2.5' as Double)", "2.5", "cast"},
    {"{}", "cast(2.5 as Bool)", "true", "cast"},
    {"{}", "cast('no' as Boolean)", kUndefined, "cast"},
    {"{}", "cast([] as Int)", kUndefined, "cast"},
    {"{}", "length('\xF0\x9F\x98\x80')", "2", "length counts UTF-16 units"},
    {"{}",
     "upper('stra\xC3\x9F"
     "e')",
     "\"STRASSE\"", "Unicode case mapping"},
    {"{}", "decode('bm90IGpzb24=', 'base64')", R"("not json")", "decode to text"},
    {"{}", "decode('!!!', 'base64')", "null", "§3.4 decode failure is Null"},
    {"{}", "decode('ODA=', 'hex')", kUndefined, "unknown scheme"},
    {"{}", "transform('other', {}, [])", kUndefined, "unknown transform mode"},
    {"{}", "parse_time('yyyy-MM-dd HH:mm:ss', 0)", R"("1970-01-01 00:00:00")", "default UTC"},
    {"{}", "parse_time('yyyy', 0, 'No/Such_Zone')", kUndefined, "unknown zone"},
    {"{}", "time_to_epoch('garbage', 'yyyy')", kUndefined, "unparsable time"},
    {"{}", "sql_version()", R"("2016-03-23")", "sql_version"},
    {"{}", "clientid()", R"("n/a")", "clientid without MQTT"},
    {"{}", "topic()", kUndefined, "no topic in context"},
    {"{}", "timestamp()", kUndefined, "no clock in context"},
    {"{}", "get_thing_shadow('thing', 'arn:aws:iam::123456789012:role/r')", kUndefined,
     "external function"},
    {"{}", "aws_lambda('arn', {'a': 1})", kUndefined, "external function"},
    {"{}", "machinelearning_predict('m', 'r', *)", kUndefined, "external function"},
    {"{}", "get_dynamodb('t', 'k', 'v', 'r')", kUndefined, "external function"},
    {"{}", "get_secret('id', 'SecretString', 'k', 'r')", kUndefined, "external function"},
    // Wrong argument counts are Undefined at run time (§2.6).
    {"{}", "abs(1, 2)", kUndefined, "wrong arity"},
    {"{}", "abs()", kUndefined, "wrong arity"},
    {"{}", "isNull()", kUndefined, "wrong arity"},
    {"{}", "substring('abc', 1, 2, 3)", kUndefined, "wrong arity"},
    {"{}", "trunc(2.5)", kUndefined, "wrong arity"},
};

class Semantics : public ::testing::TestWithParam<Row> {};
TEST_P(Semantics, Evaluates) {
  Row row = GetParam();
  if (std::string(row.expr) == "lpad('a', 2000)") {
    auto e = Expression::Parse(row.expr);
    ASSERT_TRUE(e.ok());
    Value v = e->Eval(Json::object());
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->get<std::string>(), std::string(1000, ' ') + "a");  // n clamped to 1000
    return;
  }
  CheckRow(row);
}
INSTANTIATE_TEST_SUITE_P(IotSql, Semantics, ::testing::ValuesIn(kSemanticRows));

// --- Filter semantics (pipeline `filter`, WHERE).

TEST(Filter, MissingAttributeIsFalse) {
  auto e = Expression::Parse("temp > 40 AND hum < 20");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->EvalCondition(Json::parse(R"({"temp":50,"hum":10})")));
  EXPECT_FALSE(e->EvalCondition(Json::parse(R"({"temp":50,"hum":30})")));
  EXPECT_FALSE(e->EvalCondition(Json::parse(R"({"hum":10})")));
  EXPECT_FALSE(e->EvalCondition(Json::parse(R"({"temp":"hot","hum":10})")));
  EXPECT_FALSE(e->EvalCondition(Json::parse(R"({"temp":null,"hum":10})")));
}

TEST(Filter, NegatedMissingAttributeIsStillFalse) {
  auto e = Expression::Parse("NOT (temp > 40)");
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->EvalCondition(Json::parse(R"({})")));
  EXPECT_TRUE(e->EvalCondition(Json::parse(R"({"temp":1})")));
}

TEST(Filter, OnlyBooleanTruePasses) {
  for (const char* text : {"'true'", "1", "'x'", "null", "[true]"}) {
    auto e = Expression::Parse(text);
    ASSERT_TRUE(e.ok()) << text;
    EXPECT_FALSE(e->EvalCondition(Json::object())) << text;
  }
  auto t = Expression::Parse("true");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->EvalCondition(Json::object()));
}

TEST(Filter, MissingAttributeTestedExplicitly) {
  auto e = Expression::Parse("temp IS UNDEFINED OR temp > 40");
  ASSERT_TRUE(e.ok());
  // Literal reading of the OR table: an Undefined operand makes OR Undefined, so the
  // IS UNDEFINED branch alone cannot rescue a message whose temp is missing.
  EXPECT_FALSE(e->EvalCondition(Json::parse(R"({})")));
  auto f = Expression::Parse("isUndefined(temp) OR coalesce_free");
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->EvalCondition(Json::object()));
}

// --- Context functions.

TEST(Context, TopicAndTimestamp) {
  EvalContext ctx;
  ctx.topic = "things/myThings/thingOne";
  FakeClock clock(1481825251155000);
  ctx.clock = &clock;
  ctx.client_id = "dev-1";
  ctx.trace_id = "trace";
  ctx.principal = "p";
  ctx.account_id = "123456789012";
  auto eval = [&](const char* text) {
    auto e = Expression::Parse(text);
    EXPECT_TRUE(e.ok()) << text;
    return e.ok() ? Describe(e->Eval(Json::object(), ctx)) : std::string("parse error");
  };
  EXPECT_EQ(eval("topic()"), R"("things/myThings/thingOne")");  // #26
  EXPECT_EQ(eval("topic(1)"), R"("things")");                   // #26
  EXPECT_EQ(eval("topic(3)"), R"("thingOne")");
  EXPECT_EQ(eval("topic(4)"), kUndefined);
  EXPECT_EQ(eval("topic(0)"), kUndefined);
  EXPECT_EQ(eval("timestamp()"), "1481825251155");
  EXPECT_EQ(eval("clientid()"), R"("dev-1")");
  EXPECT_EQ(eval("traceid()"), R"("trace")");
  EXPECT_EQ(eval("principal()"), R"("p")");
  EXPECT_EQ(eval("accountid()"), R"("123456789012")");

  ctx.topic = "Buildings/Building5/Floor2/Room201/Lights";  // #27, Basic Ingest prefix removed
  EXPECT_EQ(eval("topic()"), R"("Buildings/Building5/Floor2/Room201/Lights")");
  EXPECT_EQ(eval("topic(3)"), R"("Floor2")");
}

TEST(Context, ErrorActionKeyTemplate) {  // #71
  EvalContext ctx;
  ctx.topic = "testme/action";
  FakeClock clock(1600000000123000);
  ctx.clock = &clock;
  auto e = Expression::Parse("replace(topic(), '/', '-') + '-' + timestamp() + '-' + newuuid()");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  Value v = e->Eval(Json::object(), ctx);
  ASSERT_TRUE(v.has_value());
  EXPECT_TRUE(std::regex_match(
      v->get<std::string>(),
      std::regex("testme-action-1600000000123-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                 "[0-9a-f]{12}")))
      << v->dump();
}

TEST(Functions, RandAndNewUuid) {
  auto r = Expression::Parse("rand()");
  ASSERT_TRUE(r.ok());
  for (int i = 0; i < 100; ++i) {
    Value v = r->Eval(Json::object());
    ASSERT_TRUE(v.has_value() && v->is_number());
    double d = v->get<double>();
    EXPECT_GE(d, 0.0);
    EXPECT_LT(d, 1.0);
  }
  auto u = Expression::Parse("newuuid() <> newuuid()");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->EvalCondition(Json::object()));
}

// --- Parse errors.

struct ErrorRow {
  const char* expr;
  const char* message;  // the full status message
};

const ErrorRow kErrorRows[] = {
    {"temp > ", "Syntax error at position 7 in 'temp > ': expected an expression"},
    {"", "Syntax error at position 0 in '': expected an expression"},
    {"(a + b", "Syntax error at position 6 in '(a + b': expected ')'"},
    {"a b",
     "Syntax error at position 2 in 'a b': expected an operator or the end of the "
     "expression, found 'b'"},
    {"a + ) ", "Syntax error at position 4 in 'a + ) ': expected an expression, found ')'"},
    {"'abc", "Syntax error at position 0 in ''abc': unterminated string literal"},
    {"a # b", "Syntax error at position 2 in 'a # b': unexpected character '#'"},
    {"a\x01", "Syntax error at position 1 in 'a?': unexpected character '\\x01'"},
    {"foo(1)", "Syntax error at position 0 in 'foo(1)': unknown function 'foo'"},
    {"1 + nosuchfn()",
     "Syntax error at position 4 in '1 + nosuchfn()': unknown function "
     "'nosuchfn'"},
    {"cast(1 as blob)",
     "Syntax error at position 10 in 'cast(1 as blob)': unknown type 'blob' (expected String, "
     "Nvarchar, Text, Ntext, varchar, Int, Integer, Double, Decimal, Bool or Boolean)"},
    {"cast(1, Int)", "Syntax error at position 6 in 'cast(1, Int)': expected AS, found ','"},
    {"CASE x END", "Syntax error at position 7 in 'CASE x END': expected WHEN, found 'END'"},
    {"CASE x WHEN 1 'a' END",
     "Syntax error at position 14 in 'CASE x WHEN 1 'a' END': expected THEN, found a string "
     "literal"},
    {"CASE x WHEN 1 THEN 2",
     "Syntax error at position 20 in 'CASE x WHEN 1 THEN 2': expected "
     "WHEN, ELSE or END"},
    {"a IS 5", "Syntax error at position 5 in 'a IS 5': expected NULL or UNDEFINED, found '5'"},
    {"1e999", "Syntax error at position 0 in '1e999': number out of range"},
    {"and", "Syntax error at position 0 in 'and': expected an expression, found 'and'"},
    {"a.", "Syntax error at position 2 in 'a.': expected an attribute name after '.'"},
    {"a[1", "Syntax error at position 3 in 'a[1': expected ']'"},
    {"abs(1,", "Syntax error at position 6 in 'abs(1,': expected an expression"},
    {"abs(1 2)", "Syntax error at position 6 in 'abs(1 2)': expected ',' or ')', found '2'"},
    {"{'a' 1}", "Syntax error at position 5 in '{'a' 1}': expected ':', found '1'"},
    {"{a: 1}", "Syntax error at position 1 in '{a: 1}': expected a quoted member name, found 'a'"},
    {"[1, 2", "Syntax error at position 5 in '[1, 2': expected ',' or ']'"},
    {"(SELECT a, b)",
     "Syntax error at position 12 in '(SELECT a, b)': expected ',' or FROM, "
     "found ')'"},
    {"(SELECT VALUE a, b FROM c)",
     "Syntax error at position 15 in '(SELECT VALUE a, b FROM c)': SELECT VALUE takes exactly "
     "one item"},
    {"(SELECT a FROM b",
     "Syntax error at position 16 in '(SELECT a FROM b': expected WHERE or "
     "')'"},
    {"1 = = 2", "Syntax error at position 4 in '1 = = 2': expected an expression, found '='"},
    {"a ! b", "Syntax error at position 2 in 'a ! b': unexpected character '!'"},
    {"`a`", "Syntax error at position 0 in '`a`': unexpected character '`'"},
};

void PrintTo(const ErrorRow& row, std::ostream* os) { *os << row.expr; }

class ParseErrors : public ::testing::TestWithParam<ErrorRow> {};
TEST_P(ParseErrors, NamePositionAndExpectation) {
  auto e = Expression::Parse(GetParam().expr);
  ASSERT_FALSE(e.ok()) << GetParam().expr;
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(e.status().message(), GetParam().message);
}
INSTANTIATE_TEST_SUITE_P(IotSql, ParseErrors, ::testing::ValuesIn(kErrorRows));

const ErrorRow kMathErrorRows[] = {
    {"temp > 1",
     "Syntax error at position 5 in 'temp > 1': comparison operator '>' is not "
     "allowed in a math expression"},
    {"a AND b",
     "Syntax error at position 2 in 'a AND b': AND is not allowed in a math "
     "expression"},
    {"NOT a", "Syntax error at position 0 in 'NOT a': NOT is not allowed in a math expression"},
    {"floor(x)",
     "Syntax error at position 0 in 'floor(x)': function 'floor' is not allowed in a "
     "math expression"},
    {"lower(x)",
     "Syntax error at position 0 in 'lower(x)': function 'lower' is not allowed in a "
     "math expression"},
    {"cast(x as Int)",
     "Syntax error at position 0 in 'cast(x as Int)': function 'cast' is not "
     "allowed in a math expression"},
    {"CASE x WHEN 1 THEN 2 END",
     "Syntax error at position 0 in 'CASE x WHEN 1 THEN 2 END': CASE "
     "is not allowed in a math expression"},
    {"x IS NULL",
     "Syntax error at position 2 in 'x IS NULL': IS is not allowed in a math "
     "expression"},
    {"[x]",
     "Syntax error at position 0 in '[x]': an array literal is not allowed in a math "
     "expression"},
    {"nosuch(x)", "Syntax error at position 0 in 'nosuch(x)': unknown function 'nosuch'"},
};

class MathParseErrors : public ::testing::TestWithParam<ErrorRow> {};
TEST_P(MathParseErrors, RejectsNonMath) {
  auto e = Expression::Parse(GetParam().expr, Dialect::kMath);
  ASSERT_FALSE(e.ok()) << GetParam().expr;
  EXPECT_EQ(e.status().message(), GetParam().message);
  // The full dialect accepts all of them except unknown functions.
  if (std::string(GetParam().expr) != "nosuch(x)") {
    EXPECT_TRUE(Expression::Parse(GetParam().expr).ok()) << GetParam().expr;
  }
}
INSTANTIATE_TEST_SUITE_P(IotSql, MathParseErrors, ::testing::ValuesIn(kMathErrorRows));

TEST(MathDialect, AcceptsPathsAndParentheses) {
  auto e = Expression::Parse("-(device.readings[1] * 2) + abs(x) % 7", Dialect::kMath);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  Value v = e->Eval(Json::parse(R"({"device":{"readings":[1,4]},"x":-9})"));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->dump(), "-6");
}

// --- Depth limits.

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(Depth, ParenthesesWithinLimitParse) {
  auto e = Expression::Parse(Repeat("(", 200) + "1" + Repeat(")", 200));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(Describe(e->Eval(Json::object())), "1");
}

TEST(Depth, TooDeepIsAParseError) {
  const std::vector<std::string> inputs = {
      Repeat("(", 5000) + "1" + Repeat(")", 5000),
      Repeat("NOT ", 5000) + "true",
      Repeat("-", 5000) + "x",
      "1" + Repeat(" + 1", 5000),
      Repeat("abs(", 5000) + "1" + Repeat(")", 5000),
      Repeat("[", 5000) + Repeat("]", 5000),
      Repeat("a.", 5000) + "b",
      "x" + Repeat("[0]", 5000),
      Repeat("CASE WHEN true THEN ", 5000) + "1" + Repeat(" END", 5000),
      Repeat("(SELECT VALUE ", 5000) + "1" + Repeat(" FROM *)", 5000),
  };
  for (const std::string& text : inputs) {
    auto e = Expression::Parse(text);
    ASSERT_FALSE(e.ok()) << text.substr(0, 40);
    EXPECT_NE(e.status().message().find("nested too deeply (more than 256 levels)"),
              std::string::npos)
        << e.status().message().substr(0, 300);
  }
}

TEST(Depth, LongFlatArgumentListIsFine) {
  std::string text = "concat('a'" + Repeat(", 'a'", 5000) + ")";
  auto e = Expression::Parse(text);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  Value v = e->Eval(Json::object());
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->get<std::string>().size(), 5001u);
}

TEST(Depth, DeeplyNestedMessageDoesNotCrash) {
  auto make_deep = [] {
    Json deep = Json::array();
    for (int i = 0; i < 100000; ++i) {
      Json next = Json::array();
      next.push_back(std::move(deep));
      deep = std::move(next);
    }
    return deep;
  };
  Json message = Json::object();
  message["a"] = make_deep();
  message["b"] = make_deep();
  for (const char* text : {"a = b", "lower(a)", "length(a)", "a", "concat(a, 1)", "*", "a[0][0]",
                           "(SELECT * FROM *)", "get(a, 0)"}) {
    auto e = Expression::Parse(text);
    ASSERT_TRUE(e.ok()) << text;
    Value v = e->Eval(message);  // must return, whatever it returns
    (void)v;
  }
  auto too_deep = Expression::Parse("a");
  ASSERT_TRUE(too_deep.ok());
  EXPECT_FALSE(too_deep->Eval(message).has_value());  // too deep to copy out of the message
  auto shallow = Expression::Parse("isUndefined(a) AND length(*) = 1");
  ASSERT_TRUE(shallow.ok());
  EXPECT_FALSE(shallow->Eval(message).has_value());
}

// --- Randomized robustness: parsing never crashes, errors always name a position.

void CheckParseDoesNotCrash(const std::string& text, const Json& message) {
  auto e = Expression::Parse(text);
  if (!e.ok()) {
    const std::string& m = e.status().message();
    ASSERT_EQ(m.rfind("Syntax error at position ", 0), 0u) << m;
    size_t pos = std::stoul(m.substr(std::strlen("Syntax error at position ")));
    EXPECT_LE(pos, text.size()) << m;
    return;
  }
  Value v = e->Eval(message);
  if (v) (void)v->dump(-1, ' ', false, Json::error_handler_t::replace);
  (void)e->EvalCondition(message);
}

const Json& SampleMessage() {
  static const Json m = Json::parse(
      R"({"a":1,"b":2.5,"s":"text","t":true,"n":null,"arr":[1,"x",[2]],"o":{"p":{"q":3}},
          "e":[{"n":"temperature","v":22.5},{"n":"light","v":135}]})");
  return m;
}

TEST(Random, ByteStringsNeverCrash) {
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<int> len(0, 48);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    int n = len(rng);
    for (int k = 0; k < n; ++k) text.push_back(static_cast<char>(byte(rng)));
    CheckParseDoesNotCrash(text, SampleMessage());
  }
}

TEST(Random, PrintableStringsNeverCrash) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> len(0, 40);
  const std::string alphabet = "ab01 .,'\"()[]{}:+-*/%=<>!eE_";
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  for (int i = 0; i < 5000; ++i) {
    std::string text;
    int n = len(rng);
    for (int k = 0; k < n; ++k) text.push_back(alphabet[pick(rng)]);
    CheckParseDoesNotCrash(text, SampleMessage());
  }
}

TEST(Random, TokenSoupsNeverCrash) {
  const std::vector<std::string> vocab = {"a",
                                          "b",
                                          "s",
                                          "t",
                                          "n",
                                          "arr",
                                          "o",
                                          "e",
                                          "missing",
                                          "*",
                                          "1",
                                          "0",
                                          "-3",
                                          "2.5",
                                          "1e3",
                                          "9223372036854775807",
                                          "'x'",
                                          "\"5\"",
                                          "''",
                                          "true",
                                          "false",
                                          "null",
                                          "NULL",
                                          "(",
                                          ")",
                                          "[",
                                          "]",
                                          "{",
                                          "}",
                                          ",",
                                          ".",
                                          ":",
                                          "+",
                                          "-",
                                          "*",
                                          "/",
                                          "%",
                                          "=",
                                          "<>",
                                          "!=",
                                          "<",
                                          "<=",
                                          ">",
                                          ">=",
                                          "AND",
                                          "OR",
                                          "NOT",
                                          "IS",
                                          "UNDEFINED",
                                          "CASE",
                                          "WHEN",
                                          "THEN",
                                          "ELSE",
                                          "END",
                                          "SELECT",
                                          "VALUE",
                                          "FROM",
                                          "WHERE",
                                          "AS",
                                          "cast(",
                                          "Int",
                                          "String",
                                          "abs(",
                                          "concat(",
                                          "get(",
                                          "substring(",
                                          "regexp_replace(",
                                          "regexp_matches(",
                                          "decode(",
                                          "encode(",
                                          "'base64'",
                                          "transform(",
                                          "'enrichArray'",
                                          "trunc(",
                                          "power(",
                                          "mod(",
                                          "lpad(",
                                          "replace(",
                                          "parse_time(",
                                          "time_to_epoch(",
                                          "'yyyy'",
                                          "topic(",
                                          "isUndefined(",
                                          "bitnot(",
                                          "chr(",
                                          "md2(",
                                          "upper(",
                                          "length(",
                                          "'(a|b)*c'",
                                          "p",
                                          "q",
                                          "v"};
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> len(1, 24);
  std::uniform_int_distribution<size_t> pick(0, vocab.size() - 1);
  int parsed = 0;
  for (int i = 0; i < 8000; ++i) {
    std::string text;
    int n = len(rng);
    for (int k = 0; k < n; ++k) text += vocab[pick(rng)] + " ";
    if (Expression::Parse(text).ok()) ++parsed;
    CheckParseDoesNotCrash(text, SampleMessage());
  }
  EXPECT_GT(parsed, 100);  // the soup does reach the evaluator
}

TEST(Expression, TextAndCopies) {
  auto e = Expression::Parse("a + 1");
  ASSERT_TRUE(e.ok());
  Expression copy = *e;
  EXPECT_EQ(copy.text(), "a + 1");
  EXPECT_EQ(Describe(copy.Eval(Json::parse(R"({"a":41})"))), "42");
  Expression empty_default = copy;
  EXPECT_EQ(Describe(empty_default.Eval(Json::parse(R"({"a":1})"))), "2");
}

}  // namespace
}  // namespace sluice::iotsql
