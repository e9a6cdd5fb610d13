// mini_json.h -- a small JSON reader for test-vectors/manifest.json (objects, arrays, strings, numbers, literals).
// Numbers keep their source text so 64-bit values survive; strings handle the standard escapes (\uXXXX as UTF-8).
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mjson {

struct Value {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool b = false;
  std::string text;  // number text or string value
  std::vector<Value> items;
  std::vector<std::pair<std::string, Value>> members;

  const Value *get(const std::string &key) const {
    for (auto &m : members)
      if (m.first == key) return &m.second;
    return nullptr;
  }
  std::string str(const std::string &key, const std::string &def = "") const {
    const Value *v = get(key);
    return v && (v->kind == String || v->kind == Number) ? v->text : def;
  }
  // A number or a decimal string ("4294967297"), as an unsigned 64-bit value.
  unsigned long long u64(const std::string &key, unsigned long long def = 0) const {
    const Value *v = get(key);
    if (!v || (v->kind != Number && v->kind != String) || v->text.empty()) return def;
    return std::stoull(v->text);
  }
  bool boolean(const std::string &key, bool def = false) const {
    const Value *v = get(key);
    return v && v->kind == Bool ? v->b : def;
  }
};

class Parser {
 public:
  explicit Parser(const std::string &s) : s_(s) {}
  Value parse() {
    Value v = value();
    ws();
    if (i_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  const std::string &s_;
  size_t i_ = 0;
  [[noreturn]] void fail(const char *what) { throw std::runtime_error(std::string("json: ") + what); }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) i_++;
  }
  char peek() {
    ws();
    if (i_ >= s_.size()) fail("unexpected end");
    return s_[i_];
  }
  void expect(char c) {
    if (peek() != c) fail("unexpected character");
    i_++;
  }
  Value value() {
    char c = peek();
    Value v;
    if (c == '{') {
      v.kind = Value::Object;
      i_++;
      if (peek() == '}') {
        i_++;
        return v;
      }
      for (;;) {
        std::string k = string();
        expect(':');
        v.members.emplace_back(k, value());
        if (peek() == ',') {
          i_++;
          continue;
        }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.kind = Value::Array;
      i_++;
      if (peek() == ']') {
        i_++;
        return v;
      }
      for (;;) {
        v.items.push_back(value());
        if (peek() == ',') {
          i_++;
          continue;
        }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.kind = Value::String;
      v.text = string();
      return v;
    }
    if (s_.compare(i_, 4, "true") == 0) {
      i_ += 4;
      v.kind = Value::Bool;
      v.b = true;
      return v;
    }
    if (s_.compare(i_, 5, "false") == 0) {
      i_ += 5;
      v.kind = Value::Bool;
      return v;
    }
    if (s_.compare(i_, 4, "null") == 0) {
      i_ += 4;
      return v;
    }
    size_t st = i_;
    while (i_ < s_.size() && (isdigit((unsigned char)s_[i_]) || s_[i_] == '-' || s_[i_] == '+' || s_[i_] == '.' ||
                              s_[i_] == 'e' || s_[i_] == 'E'))
      i_++;
    if (st == i_) fail("bad value");
    v.kind = Value::Number;
    v.text = s_.substr(st, i_ - st);
    return v;
  }
  std::string string() {
    expect('"');
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) fail("bad escape");
      char e = s_[i_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (i_ + 4 > s_.size()) fail("bad \\u");
          unsigned cp = (unsigned)std::stoul(s_.substr(i_, 4), nullptr, 16);
          i_ += 4;
          if (cp < 0x80) {
            out += (char)cp;
          } else if (cp < 0x800) {
            out += (char)(0xC0 | (cp >> 6));
            out += (char)(0x80 | (cp & 0x3F));
          } else {
            out += (char)(0xE0 | (cp >> 12));
            out += (char)(0x80 | ((cp >> 6) & 0x3F));
            out += (char)(0x80 | (cp & 0x3F));
          }
          break;
        }
        default: out += e;
      }
    }
    if (i_ >= s_.size()) fail("unterminated string");
    i_++;
    return out;
  }
};

inline Value parse(const std::string &s) { return Parser(s).parse(); }

}  // namespace mjson
