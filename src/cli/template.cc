// The Go-template subset of template.h: a tokenizer for the text inside {{ }}, a recursive-descent
// parser into nodes, and a tree-walking evaluator over nlohmann::json.
#include "cli/template.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>

namespace berth::cli {

using nlohmann::json;

namespace {

// A missing map key: prints "<no value>" where JSON null prints "<nil>", as in Go.
json Missing() { return json(json::value_t::discarded); }

base::Error TemplateError(const std::string& what) {
  return base::Error::InvalidArgument("template: " + what);
}

struct Pipeline;

// One operand of a command: a field chain on the dot, a variable (with fields), a literal, a
// function name or a parenthesised pipeline (with fields).
struct Operand {
  enum Kind { kField, kVar, kLiteral, kFunc, kParen } kind = kField;
  std::string name;                 // variable ("$", "$k") or function name
  std::vector<std::string> fields;  // .A.B after the dot, the variable or the parentheses
  json literal;
  std::shared_ptr<Pipeline> paren;
};

struct Command {
  std::vector<Operand> args;
};

struct Pipeline {
  std::vector<std::string> decl;  // range's "$k, $v :="
  std::vector<Command> cmds;
};

}  // namespace

struct Template::Node {
  enum Kind { kText, kAction, kIf, kRange, kWith } kind = kText;
  std::string text;
  Pipeline pipe;
  std::vector<Node> body, else_body;
};

namespace {

using Node = Template::Node;

// ---- Tokens inside an action ------------------------------------------------------------------

struct Token {
  enum Kind { kField, kVar, kString, kNumber, kIdent, kLParen, kRParen, kPipe, kDeclare, kComma };
  Kind kind;
  std::string text;
};

base::Result<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  auto ident_char = [](char c) { return isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  while (i < s.size()) {
    char c = s[i];
    if (isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '.' || c == '$') {
      // ".A.B", ".", "$", "$x", "$x.A"
      size_t start = i++;
      while (i < s.size() && (ident_char(s[i]) || s[i] == '.')) ++i;
      out.push_back(
          {c == '.' ? Token::kField : Token::kVar, std::string(s.substr(start, i - start))});
    } else if (c == '"') {
      std::string v;
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) {
          char e = s[++i];
          v += e == 'n' ? '\n' : e == 't' ? '\t' : e;
        } else {
          v += s[i];
        }
        ++i;
      }
      if (i >= s.size()) return base::Fail(TemplateError("unterminated quoted string"));
      ++i;
      out.push_back({Token::kString, v});
    } else if (c == '`') {
      size_t end = s.find('`', i + 1);
      if (end == std::string_view::npos)
        return base::Fail(TemplateError("unterminated raw quoted string"));
      out.push_back({Token::kString, std::string(s.substr(i + 1, end - i - 1))});
      i = end + 1;
    } else if (isdigit(static_cast<unsigned char>(c)) ||
               (c == '-' && i + 1 < s.size() && isdigit(static_cast<unsigned char>(s[i + 1])))) {
      size_t start = i++;
      while (i < s.size() && (isalnum(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
      out.push_back({Token::kNumber, std::string(s.substr(start, i - start))});
    } else if (ident_char(c)) {
      size_t start = i;
      while (i < s.size() && ident_char(s[i])) ++i;
      out.push_back({Token::kIdent, std::string(s.substr(start, i - start))});
    } else if (c == '(') {
      out.push_back({Token::kLParen, "("}), ++i;
    } else if (c == ')') {
      out.push_back({Token::kRParen, ")"}), ++i;
    } else if (c == '|') {
      out.push_back({Token::kPipe, "|"}), ++i;
    } else if (c == ',') {
      out.push_back({Token::kComma, ","}), ++i;
    } else if (c == ':' && i + 1 < s.size() && s[i + 1] == '=') {
      out.push_back({Token::kDeclare, ":="}), i += 2;
    } else {
      return base::Fail(TemplateError(fmt::format("unexpected \"{}\" in command", c)));
    }
  }
  return out;
}

std::vector<std::string> SplitFields(std::string_view chain) {
  // ".A.B" -> {A, B}; "." -> {}
  std::vector<std::string> out;
  size_t i = 0;
  while (i < chain.size()) {
    size_t dot = chain.find('.', i + 1);
    if (dot == std::string_view::npos) dot = chain.size();
    std::string f(chain.substr(i + 1, dot - i - 1));
    if (!f.empty()) out.push_back(f);
    i = dot;
  }
  return out;
}

class PipelineParser {
 public:
  explicit PipelineParser(std::vector<Token> t) : t_(std::move(t)) {}

  base::Result<Pipeline> ParseTop(bool allow_decl) {
    Pipeline p;
    if (allow_decl) {
      // "$k, $v :=" or "$v :="
      size_t j = 0;
      std::vector<std::string> vars;
      while (j < t_.size() && t_[j].kind == Token::kVar) {
        vars.push_back(t_[j].text);
        ++j;
        if (j < t_.size() && t_[j].kind == Token::kComma)
          ++j;
        else
          break;
      }
      if (!vars.empty() && j < t_.size() && t_[j].kind == Token::kDeclare) {
        p.decl = vars;
        pos_ = j + 1;
      }
    }
    TRY(ParseCommands(p));
    if (pos_ != t_.size()) return base::Fail(TemplateError("unexpected \"" + t_[pos_].text + "\""));
    return p;
  }

 private:
  base::Status ParseCommands(Pipeline& p) {
    for (;;) {
      Command c;
      while (pos_ < t_.size() && t_[pos_].kind != Token::kPipe && t_[pos_].kind != Token::kRParen)
        c.args.push_back(TRY(ParseOperand()));
      if (c.args.empty()) return base::Fail(TemplateError("missing value for command"));
      p.cmds.push_back(std::move(c));
      if (pos_ < t_.size() && t_[pos_].kind == Token::kPipe) {
        ++pos_;
        continue;
      }
      return {};
    }
  }

  base::Result<Operand> ParseOperand() {
    const Token& tok = t_[pos_++];
    Operand o;
    switch (tok.kind) {
      case Token::kField:
        o.kind = Operand::kField;
        o.fields = SplitFields(tok.text);
        return o;
      case Token::kVar: {
        o.kind = Operand::kVar;
        size_t dot = tok.text.find('.');
        o.name = tok.text.substr(0, dot);
        if (dot != std::string::npos) o.fields = SplitFields(tok.text.substr(dot));
        return o;
      }
      case Token::kString:
        o.kind = Operand::kLiteral;
        o.literal = tok.text;
        return o;
      case Token::kNumber: {
        o.kind = Operand::kLiteral;
        json n = json::parse(tok.text, nullptr, false);
        if (n.is_discarded() || !n.is_number())
          return base::Fail(TemplateError("bad number syntax: \"" + tok.text + "\""));
        o.literal = n;
        return o;
      }
      case Token::kIdent:
        o.kind = Operand::kLiteral;
        if (tok.text == "true")
          o.literal = true;
        else if (tok.text == "false")
          o.literal = false;
        else if (tok.text == "nil")
          o.literal = nullptr;
        else
          o.kind = Operand::kFunc, o.name = tok.text;
        return o;
      case Token::kLParen: {
        o.kind = Operand::kParen;
        o.paren = std::make_shared<Pipeline>();
        TRY(ParseCommands(*o.paren));
        if (pos_ >= t_.size() || t_[pos_].kind != Token::kRParen)
          return base::Fail(TemplateError("unclosed left paren"));
        ++pos_;
        // "(index .X 0).Name": a field chain glued to the parenthesis.
        if (pos_ < t_.size() && t_[pos_].kind == Token::kField && t_[pos_].text != ".")
          o.fields = SplitFields(t_[pos_++].text);
        return o;
      }
      default:
        return base::Fail(TemplateError("unexpected \"" + tok.text + "\" in operand"));
    }
  }

  std::vector<Token> t_;
  size_t pos_ = 0;
};

// ---- Template text into nodes -----------------------------------------------------------------

struct Item {
  bool action;
  std::string text;
};

base::Result<std::vector<Item>> Lex(std::string_view s) {
  std::vector<Item> items;
  size_t i = 0;
  bool trim_next = false;
  while (i <= s.size()) {
    size_t open = s.find("{{", i);
    std::string text(
        s.substr(i, open == std::string_view::npos ? std::string_view::npos : open - i));
    if (trim_next)
      text.erase(0, text.find_first_not_of(" \t\r\n") == std::string::npos
                        ? text.size()
                        : text.find_first_not_of(" \t\r\n"));
    if (open == std::string_view::npos) {
      if (!text.empty()) items.push_back({false, text});
      break;
    }
    size_t close = s.find("}}", open + 2);
    if (close == std::string_view::npos) return base::Fail(TemplateError("unclosed action"));
    std::string_view inner = s.substr(open + 2, close - open - 2);
    // "{{- " and " -}}" trim the surrounding white space.
    if (inner.size() >= 2 && inner[0] == '-' && isspace(static_cast<unsigned char>(inner[1]))) {
      size_t keep = text.find_last_not_of(" \t\r\n");
      text.erase(keep == std::string::npos ? 0 : keep + 1);
      inner.remove_prefix(2);
    }
    trim_next = false;
    if (inner.size() >= 2 && inner.back() == '-' &&
        isspace(static_cast<unsigned char>(inner[inner.size() - 2]))) {
      trim_next = true;
      inner.remove_suffix(2);
    }
    if (!text.empty()) items.push_back({false, text});
    items.push_back({true, std::string(inner)});
    i = close + 2;
  }
  return items;
}

class NodeParser {
 public:
  explicit NodeParser(std::vector<Item> items) : items_(std::move(items)) {}

  base::Result<std::vector<Node>> ParseAll() {
    std::string end;
    auto nodes = TRY(ParseList(&end));
    if (!end.empty()) return base::Fail(TemplateError("unexpected {{" + end + "}}"));
    return nodes;
  }

 private:
  // Parses nodes until {{end}} or {{else...}}; `*stop` gets that keyword's action text ("" at the
  // end of input).
  base::Result<std::vector<Node>> ParseList(std::string* stop) {
    std::vector<Node> out;
    while (pos_ < items_.size()) {
      const Item& it = items_[pos_++];
      if (!it.action) {
        out.push_back(Node{Node::kText, it.text, {}, {}, {}});
        continue;
      }
      std::string_view a = it.text;
      while (!a.empty() && isspace(static_cast<unsigned char>(a.front()))) a.remove_prefix(1);
      while (!a.empty() && isspace(static_cast<unsigned char>(a.back()))) a.remove_suffix(1);
      if (a.substr(0, 2) == "/*") continue;
      std::string word(a.substr(0, a.find_first_of(" \t\n")));
      std::string rest(word.size() < a.size() ? a.substr(word.size()) : "");
      if (word == "end" || word == "else") {
        *stop = std::string(a);
        return out;
      }
      if (word == "if" || word == "range" || word == "with") {
        out.push_back(TRY(ParseBlock(word, rest)));
        continue;
      }
      Node n;
      n.kind = Node::kAction;
      n.pipe = TRY(ParsePipe(a, false));
      out.push_back(std::move(n));
    }
    *stop = "";
    return out;
  }

  base::Result<Node> ParseBlock(const std::string& word, const std::string& rest) {
    Node n;
    n.kind = word == "if" ? Node::kIf : word == "range" ? Node::kRange : Node::kWith;
    n.pipe = TRY(ParsePipe(rest, word == "range"));
    std::string stop;
    n.body = TRY(ParseList(&stop));
    if (stop.empty()) return base::Fail(TemplateError("unexpected EOF"));
    if (stop == "else") {
      n.else_body = TRY(ParseList(&stop));
      if (stop != "end") return base::Fail(TemplateError("expected end; found {{" + stop + "}}"));
    } else if (stop.rfind("else ", 0) == 0) {
      // "else if x": an if node as the whole else branch, sharing this block's {{end}}.
      std::string inner = stop.substr(5);
      size_t s = inner.find_first_not_of(" \t");
      inner = inner.substr(s == std::string::npos ? inner.size() : s);
      std::string w = inner.substr(0, inner.find_first_of(" \t"));
      if (w != "if" && w != "with") return base::Fail(TemplateError("unexpected {{" + stop + "}}"));
      n.else_body.push_back(TRY(ParseBlock(w, inner.substr(w.size()))));
    } else if (stop != "end") {
      return base::Fail(TemplateError("unexpected {{" + stop + "}}"));
    }
    return n;
  }

  static base::Result<Pipeline> ParsePipe(std::string_view text, bool allow_decl) {
    auto tokens = TRY(Tokenize(text));
    if (tokens.empty()) return base::Fail(TemplateError("missing value for command"));
    return PipelineParser(std::move(tokens)).ParseTop(allow_decl);
  }

  std::vector<Item> items_;
  size_t pos_ = 0;
};

// ---- Evaluation -------------------------------------------------------------------------------

bool Truthy(const json& v) {
  if (v.is_discarded() || v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) return v.get<int64_t>() != 0;
  if (v.is_number_float()) return v.get<double>() != 0;
  if (v.is_string()) return !v.get_ref<const std::string&>().empty();
  return !v.empty();
}

json Field(const json& v, const std::string& name) {
  if (v.is_object()) {
    auto it = v.find(name);
    return it == v.end() ? Missing() : *it;
  }
  return Missing();
}

std::string AsString(const json& v) { return v.is_string() ? v.get<std::string>() : GoString(v); }

int Compare(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  std::string x = AsString(a), y = AsString(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

std::string Printf(const std::string& f, const std::vector<json>& args) {
  std::string out;
  size_t a = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%' || i + 1 >= f.size()) {
      out += f[i];
      continue;
    }
    char verb = f[++i];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (a >= args.size()) {
      out += fmt::format("%!{}(MISSING)", verb);
      continue;
    }
    const json& v = args[a++];
    if (verb == 'q')
      out += json(AsString(v)).dump();
    else
      out += AsString(v);
  }
  return out;
}

// Go's fmt.Sprint: a space between operands when neither side is a string.
std::string Sprint(const std::vector<json>& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0 && !args[i].is_string() && !args[i - 1].is_string()) out += ' ';
    out += AsString(args[i]);
  }
  return out;
}

base::Result<json> CallFunc(const std::string& name, const std::vector<json>& args) {
  auto need = [&](size_t n) -> base::Status {
    if (args.size() != n)
      return base::Fail(TemplateError(
          fmt::format("wrong number of args for {}: want {} got {}", name, n, args.size())));
    return {};
  };
  if (name == "json") {
    TRY(need(1));
    return json(args[0].is_discarded() ? "null" : args[0].dump());
  }
  if (name == "upper" || name == "lower" || name == "title") {
    TRY(need(1));
    std::string s = AsString(args[0]);
    bool start = true;
    for (char& c : s) {
      unsigned char u = static_cast<unsigned char>(c);
      if (name == "upper" || (name == "title" && start))
        c = char(toupper(u));
      else if (name == "lower")
        c = char(tolower(u));
      start = isspace(u);
    }
    return json(s);
  }
  if (name == "join") {
    TRY(need(2));
    std::string out, sep = AsString(args[1]);
    if (args[0].is_array())
      for (size_t i = 0; i < args[0].size(); ++i) out += (i ? sep : "") + AsString(args[0][i]);
    else
      out = AsString(args[0]);
    return json(out);
  }
  if (name == "split") {
    TRY(need(2));
    std::string s = AsString(args[0]), sep = AsString(args[1]);
    json out = json::array();
    if (sep.empty()) {
      for (char c : s) out.push_back(std::string(1, c));
      return out;
    }
    size_t i = 0, j;
    while ((j = s.find(sep, i)) != std::string::npos)
      out.push_back(s.substr(i, j - i)), i = j + sep.size();
    out.push_back(s.substr(i));
    return out;
  }
  if (name == "truncate") {
    TRY(need(2));
    std::string s = AsString(args[0]);
    if (!args[1].is_number()) return base::Fail(TemplateError("truncate: length must be a number"));
    size_t n = size_t(std::max<int64_t>(0, args[1].get<int64_t>()));
    return json(s.substr(0, std::min(n, s.size())));
  }
  if (name == "pad") {
    TRY(need(3));
    if (!args[1].is_number() || !args[2].is_number())
      return base::Fail(TemplateError("pad: lengths must be numbers"));
    return json(std::string(size_t(std::max<int64_t>(0, args[1].get<int64_t>())), ' ') +
                AsString(args[0]) +
                std::string(size_t(std::max<int64_t>(0, args[2].get<int64_t>())), ' '));
  }
  if (name == "len") {
    TRY(need(1));
    const json& v = args[0];
    if (v.is_string()) return json(v.get_ref<const std::string&>().size());
    if (v.is_array() || v.is_object()) return json(v.size());
    return base::Fail(TemplateError("len of type " + std::string(v.type_name())));
  }
  if (name == "index") {
    if (args.empty()) return base::Fail(TemplateError("wrong number of args for index"));
    json v = args[0];
    for (size_t i = 1; i < args.size(); ++i) {
      if (v.is_array() && args[i].is_number_integer()) {
        int64_t k = args[i].get<int64_t>();
        if (k < 0 || size_t(k) >= v.size())
          return base::Fail(
              TemplateError(fmt::format("error calling index: index out of range: {}", k)));
        v = v[size_t(k)];
      } else if (v.is_object() || v.is_null() || v.is_discarded()) {
        v = Field(v, AsString(args[i]));
      } else {
        return base::Fail(
            TemplateError("error calling index: cannot index " + std::string(v.type_name())));
      }
    }
    return v;
  }
  if (name == "print") return json(Sprint(args));
  if (name == "println") {
    std::string out;
    for (size_t i = 0; i < args.size(); ++i) out += (i ? " " : "") + AsString(args[i]);
    return json(out + "\n");
  }
  if (name == "printf") {
    if (args.empty()) return base::Fail(TemplateError("wrong number of args for printf"));
    return json(Printf(AsString(args[0]), std::vector<json>(args.begin() + 1, args.end())));
  }
  if (name == "not") {
    TRY(need(1));
    return json(!Truthy(args[0]));
  }
  if (name == "and" || name == "or") {
    if (args.empty()) return base::Fail(TemplateError("wrong number of args for " + name));
    for (const json& a : args)
      if (Truthy(a) != (name == "and")) return a;
    return args.back();
  }
  if (name == "eq") {
    if (args.size() < 2) return base::Fail(TemplateError("missing argument for comparison"));
    for (size_t i = 1; i < args.size(); ++i)
      if (Compare(args[0], args[i]) == 0 && args[0].is_number() == args[i].is_number())
        return json(true);
    return json(false);
  }
  if (name == "ne" || name == "lt" || name == "le" || name == "gt" || name == "ge") {
    TRY(need(2));
    int c = Compare(args[0], args[1]);
    bool r = name == "ne"   ? c != 0
             : name == "lt" ? c < 0
             : name == "le" ? c <= 0
             : name == "gt" ? c > 0
                            : c >= 0;
    return json(r);
  }
  return base::Fail(TemplateError(fmt::format("function \"{}\" not defined", name)));
}

class Executor {
 public:
  Executor(const json& root, const std::map<std::string, Template::Method>& methods)
      : methods_(methods) {
    vars_.emplace_back("$", root);
  }

  base::Status Run(const std::vector<Node>& nodes, const json& dot, std::string& out) {
    for (const Node& n : nodes) {
      switch (n.kind) {
        case Node::kText:
          out += n.text;
          break;
        case Node::kAction: {
          json v = TRY(Eval(n.pipe, dot));
          out += GoString(v);
          break;
        }
        case Node::kIf: {
          json v = TRY(Eval(n.pipe, dot));
          TRY(Run(Truthy(v) ? n.body : n.else_body, dot, out));
          break;
        }
        case Node::kWith: {
          json v = TRY(Eval(n.pipe, dot));
          if (Truthy(v))
            TRY(Run(n.body, v, out));
          else
            TRY(Run(n.else_body, dot, out));
          break;
        }
        case Node::kRange: {
          json v = TRY(Eval(n.pipe, dot));
          if (!Truthy(v) || !(v.is_array() || v.is_object())) {
            if (!v.is_discarded() && !v.is_null() && !v.is_array() && !v.is_object())
              return base::Fail(TemplateError("range can't iterate over " + GoString(v)));
            TRY(Run(n.else_body, dot, out));
            break;
          }
          size_t mark = vars_.size();
          size_t index = 0;
          for (auto it = v.begin(); it != v.end(); ++it, ++index) {
            vars_.resize(mark);
            json key = v.is_object() ? json(it.key()) : json(index);
            if (n.pipe.decl.size() == 1) vars_.emplace_back(n.pipe.decl[0], *it);
            if (n.pipe.decl.size() >= 2) {
              vars_.emplace_back(n.pipe.decl[0], key);
              vars_.emplace_back(n.pipe.decl[1], *it);
            }
            TRY(Run(n.body, *it, out));
          }
          vars_.resize(mark);
          break;
        }
      }
    }
    return {};
  }

 private:
  base::Result<json> Eval(const Pipeline& p, const json& dot) {
    std::optional<json> piped;
    for (const Command& c : p.cmds) piped = TRY(EvalCommand(c, dot, piped));
    return piped.value_or(Missing());
  }

  base::Result<json> EvalCommand(const Command& c, const json& dot,
                                 const std::optional<json>& piped) {
    const Operand& first = c.args[0];
    std::vector<json> args;
    for (size_t i = 1; i < c.args.size(); ++i) args.push_back(TRY(EvalOperand(c.args[i], dot)));
    if (piped) args.push_back(*piped);
    if (first.kind == Operand::kFunc) return CallFunc(first.name, args);
    if (first.kind == Operand::kField && !first.fields.empty()) {
      auto m = methods_.find(first.fields.back());
      if (m != methods_.end() &&
          (!args.empty() || Field(Walk(dot, first.fields, 1), first.fields.back()).is_discarded()))
        return m->second(Walk(dot, first.fields, 1), args);
    }
    if (!args.empty())
      return base::Fail(TemplateError("can't give argument to non-function " +
                                      GoString(TRY(EvalOperand(first, dot)))));
    return EvalOperand(first, dot);
  }

  // The value at `fields` minus the last `drop` names.
  static json Walk(const json& from, const std::vector<std::string>& fields, size_t drop) {
    json v = from;
    for (size_t i = 0; i + drop < fields.size(); ++i) v = Field(v, fields[i]);
    return v;
  }

  base::Result<json> EvalOperand(const Operand& o, const json& dot) {
    switch (o.kind) {
      case Operand::kField:
        return Walk(dot, o.fields, 0);
      case Operand::kVar: {
        for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
          if (it->first == o.name) return Walk(it->second, o.fields, 0);
        return base::Fail(TemplateError("undefined variable: " + o.name));
      }
      case Operand::kLiteral:
        return o.literal;
      case Operand::kFunc:
        return CallFunc(o.name, {});
      case Operand::kParen: {
        json v = TRY(Eval(*o.paren, dot));
        return Walk(v, o.fields, 0);
      }
    }
    return Missing();
  }

  const std::map<std::string, Template::Method>& methods_;
  std::vector<std::pair<std::string, json>> vars_;
};

}  // namespace

std::string GoString(const json& v) {
  switch (v.type()) {
    case json::value_t::discarded:
      return "<no value>";
    case json::value_t::null:
      return "<nil>";
    case json::value_t::string:
      return v.get<std::string>();
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case json::value_t::number_integer:
      return std::to_string(v.get<int64_t>());
    case json::value_t::number_unsigned:
      return std::to_string(v.get<uint64_t>());
    case json::value_t::number_float:
      return fmt::format("{}", v.get<double>());
    case json::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + GoString(v[i]);
      return out + "]";
    }
    case json::value_t::object: {
      std::string out = "map[";
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it, first = false)
        out += (first ? "" : " ") + it.key() + ":" + GoString(*it);
      return out + "]";
    }
    default:
      return "";
  }
}

base::Result<Template> Template::Parse(std::string_view text) {
  auto items = TRY(Lex(text));
  Template t;
  t.root_ = std::make_shared<const std::vector<Node>>(TRY(NodeParser(std::move(items)).ParseAll()));
  return t;
}

base::Result<std::string> Template::Execute(const json& data,
                                            const std::map<std::string, Method>& methods) const {
  std::string out;
  Executor ex(data, methods);
  TRY(ex.Run(*root_, data, out));
  return out;
}

}  // namespace berth::cli
