// The Go-template subset against what Go's text/template prints for the same JSON.
#include "cli/template.h"

#include <gtest/gtest.h>

namespace berth::cli {
namespace {

using nlohmann::json;

std::string Render(const std::string& text, const json& data,
                   const std::map<std::string, Template::Method>& methods = {}) {
  auto t = Template::Parse(text);
  if (!t) return "PARSE ERROR: " + t.error().message();
  auto out = t->Execute(data, methods);
  if (!out) return "EXEC ERROR: " + out.error().message();
  return *out;
}

const json kInspect = json::parse(R"({
  "Id": "abc123", "Name": "/web",
  "State": {"Status": "exited", "Running": false, "ExitCode": 3, "Pid": 0},
  "Config": {"Env": ["A=1", "B=2"], "Labels": {"b": "2", "a": "1"}, "Cmd": ["sh", "-c", "x"],
             "Entrypoint": null, "Tty": false},
  "Mounts": [{"Source": "/s1", "Destination": "/d1"}, {"Source": "/s2", "Destination": "/d2"}],
  "Ratio": 0.5
})");

TEST(TemplateTest, FieldsAndText) {
  EXPECT_EQ(Render("{{.State.Status}}", kInspect), "exited");
  EXPECT_EQ(Render("{{.State.ExitCode}} {{.State.Running}}", kInspect), "3 false");
  EXPECT_EQ(Render("id={{.Id}}\n", kInspect), "id=abc123\n");
  EXPECT_EQ(Render("{{.Ratio}}", kInspect), "0.5");
  EXPECT_EQ(Render("plain", kInspect), "plain");
}

TEST(TemplateTest, GoValueFormatting) {
  EXPECT_EQ(Render("{{.Config.Cmd}}", kInspect), "[sh -c x]");
  EXPECT_EQ(Render("{{.Config.Labels}}", kInspect), "map[a:1 b:2]");
  EXPECT_EQ(Render("{{.Config.Entrypoint}}", kInspect), "<nil>");
  EXPECT_EQ(Render("{{.Nope}}", kInspect), "<no value>");
  EXPECT_EQ(Render("{{.Nope.Deeper}}", kInspect), "<no value>");
}

TEST(TemplateTest, Json) {
  EXPECT_EQ(Render("{{json .Config.Labels}}", kInspect), R"({"a":"1","b":"2"})");
  EXPECT_EQ(Render("{{json .Config.Env}}", kInspect), R"(["A=1","B=2"])");
  EXPECT_EQ(Render("{{json .Id}}", kInspect), R"("abc123")");
  EXPECT_EQ(Render("{{.Config.Env | json}}", kInspect), R"(["A=1","B=2"])");
}

TEST(TemplateTest, RangeIfWith) {
  EXPECT_EQ(Render("{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}", kInspect),
            "/s1:/d1 /s2:/d2 ");
  EXPECT_EQ(Render("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", kInspect),
            "a=1;b=2;");
  EXPECT_EQ(Render("{{range $i, $e := .Config.Env}}{{$i}}{{$e}}{{end}}", kInspect), "0A=11B=2");
  EXPECT_EQ(Render("{{range .Nope}}x{{else}}empty{{end}}", kInspect), "empty");
  EXPECT_EQ(Render("{{if .State.Running}}up{{else}}down{{end}}", kInspect), "down");
  EXPECT_EQ(Render("{{if .State.Running}}up{{else if eq .State.ExitCode 3}}three{{end}}", kInspect),
            "three");
  EXPECT_EQ(Render("{{with .State}}{{.Status}}{{end}}", kInspect), "exited");
  EXPECT_EQ(Render("{{range .Mounts}}{{$.Name}}{{end}}", kInspect), "/web/web");
}

TEST(TemplateTest, Functions) {
  EXPECT_EQ(Render("{{join .Config.Env \",\"}}", kInspect), "A=1,B=2");
  EXPECT_EQ(Render("{{upper .State.Status}} {{lower \"AB\"}} {{title \"ab cd\"}}", kInspect),
            "EXITED ab Ab Cd");
  EXPECT_EQ(Render("{{index .Config.Labels \"a\"}} {{index .Config.Env 1}}", kInspect), "1 B=2");
  EXPECT_EQ(Render("{{len .Mounts}}", kInspect), "2");
  EXPECT_EQ(Render("{{(index .Mounts 1).Source}}", kInspect), "/s2");
  EXPECT_EQ(Render("{{printf \"%s-%d\" .Id 7}}", kInspect), "abc123-7");
  EXPECT_EQ(Render("{{println .Id}}", kInspect), "abc123\n");
  EXPECT_EQ(Render("{{truncate .Id 3}}", kInspect), "abc");
  EXPECT_EQ(Render("{{if and .Id (not .State.Running)}}y{{end}}", kInspect), "y");
  EXPECT_EQ(Render("{{split \"a:b\" \":\"}}", kInspect), "[a b]");
}

TEST(TemplateTest, TrimMarkersAndComments) {
  EXPECT_EQ(Render("a  {{- .Id -}}  b", kInspect), "aabc123b");
  EXPECT_EQ(Render("x{{/* note */}}y", kInspect), "xy");
}

TEST(TemplateTest, Methods) {
  json row = {{"ID", "abc"}, {"Labels", {{"k", "v"}}}};
  std::map<std::string, Template::Method> methods = {
      {"Label", [](const json& dot, const std::vector<json>& args) -> json {
         if (args.size() != 1 || !dot.contains("Labels")) return "";
         return dot["Labels"].value(args[0].get<std::string>(), "");
       }}};
  EXPECT_EQ(Render("{{.ID}} {{.Label \"k\"}}|{{.Label \"x\"}}|", row, methods), "abc v||");
}

TEST(TemplateTest, Errors) {
  EXPECT_NE(Render("{{.Id", kInspect).find("PARSE ERROR"), std::string::npos);
  EXPECT_NE(Render("{{end}}", kInspect).find("PARSE ERROR"), std::string::npos);
  EXPECT_NE(Render("{{if .Id}}x", kInspect).find("PARSE ERROR"), std::string::npos);
  EXPECT_NE(Render("{{nosuch .Id}}", kInspect).find("not defined"), std::string::npos);
  EXPECT_NE(Render("{{.Id \"x\"}}", kInspect).find("EXEC ERROR"), std::string::npos);
}

}  // namespace
}  // namespace berth::cli
