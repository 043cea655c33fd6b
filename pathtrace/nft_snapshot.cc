#include "pathtrace/nft_snapshot.h"

#include <linux/netfilter.h>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <utility>

namespace portmap::pathtrace {

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One recorded line to bytes; false when it is not an even run of hex digits
// (trailing whitespace allowed).
bool HexLine(const std::string& line, std::vector<uint8_t>* out) {
  size_t end = line.size();
  while (end > 0 && std::isspace(static_cast<unsigned char>(line[end - 1])) != 0) --end;
  if (end % 2 != 0) return false;
  out->clear();
  out->reserve(end / 2);
  for (size_t i = 0; i < end; i += 2) {
    const int hi = HexDigit(line[i]);
    const int lo = HexDigit(line[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return true;
}

}  // namespace

void NftSnapshot::Add(NftModelMessages msgs) {
  if (!has_generation_ && !msgs.gens.empty()) set_generation(msgs.gens.front());
  for (NftTableModel& t : msgs.tables) AddTable(std::move(t));
  for (NftChainModel& c : msgs.chains) AddChain(std::move(c));
  for (NftRuleMessage& r : msgs.rules) AddRule(std::move(r));
  for (NftSetModel& s : msgs.sets) AddSet(std::move(s));
  for (NftSetElemsMessage& e : msgs.elems) AddSetElems(std::move(e));
}

Status NftSnapshot::AddBuffer(const void* buf, size_t len) {
  NftModelMessages msgs;
  Status st = DecodeNftModelBuffer(buf, len, &msgs);
  Add(std::move(msgs));  // what decoded before a malformed message is kept
  return st;
}

Status NftSnapshot::AddHex(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  std::vector<uint8_t> bytes;
  for (int n = 1; std::getline(lines, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    if (!HexLine(line, &bytes)) return Status::Error("line " + std::to_string(n) + ": not hex");
    if (Status st = AddBuffer(bytes.data(), bytes.size()); !st.ok()) {
      return Status::Error("line " + std::to_string(n) + ": " + st.message());
    }
  }
  return Status::Ok();
}

void NftSnapshot::AddTable(NftTableModel table) {
  auto key = std::make_pair(table.family, table.name);
  tables_[std::move(key)] = std::move(table);
}

void NftSnapshot::AddChain(NftChainModel chain) {
  ChainEntry& e = chains_[Key{chain.family, chain.table, chain.name}];
  chain.rules = std::move(e.model.rules);
  e.model = std::move(chain);
  e.present = true;
}

void NftSnapshot::AddRule(NftRuleMessage rule) {
  ChainEntry& e = chains_[Key{rule.family, rule.table, rule.chain}];
  if (!e.present) {
    e.model.family = rule.family;
    e.model.table = rule.table;
    e.model.name = rule.chain;
  }
  std::vector<NftRuleModel>& rules = e.model.rules;
  if (rule.rule.handle != 0) {
    auto [it, added] = e.by_handle.try_emplace(rule.rule.handle, rules.size());
    if (!added && it->second < rules.size() && rules[it->second].handle == rule.rule.handle) {
      rules[it->second] = std::move(rule.rule);
      return;
    }
    it->second = rules.size();
  }
  rules.push_back(std::move(rule.rule));
}

void NftSnapshot::AddSet(NftSetModel set) {
  SetEntry& e = sets_[Key{set.family, set.table, set.name}];
  set.elems = std::move(e.model.elems);
  e.model = std::move(set);
  e.present = true;
}

void NftSnapshot::AddSetElems(NftSetElemsMessage elems) {
  SetEntry& e = sets_[Key{elems.family, elems.table, elems.set}];
  if (!e.present) {
    e.model.family = elems.family;
    e.model.table = elems.table;
    e.model.name = elems.set;
  }
  for (NftSetElem& elem : elems.elems) e.model.elems.push_back(std::move(elem));
}

void NftSnapshot::Clear() {
  tables_.clear();
  chains_.clear();
  sets_.clear();
  generation_ = 0;
  has_generation_ = false;
}

const NftTableModel* NftSnapshot::FindTable(uint8_t family, const std::string& name) const {
  auto it = tables_.find(std::make_pair(family, name));
  return it != tables_.end() ? &it->second : nullptr;
}

const NftChainModel* NftSnapshot::FindChain(uint8_t family, const std::string& table,
                                            const std::string& name) const {
  auto it = chains_.find(Key{family, table, name});
  return it != chains_.end() && it->second.present ? &it->second.model : nullptr;
}

const NftSetModel* NftSnapshot::FindSet(uint8_t family, const std::string& table,
                                        const std::string& name, uint32_t id) const {
  if (!name.empty()) {
    auto it = sets_.find(Key{family, table, name});
    if (it != sets_.end() && it->second.present) return &it->second.model;
  }
  if (id == 0) return nullptr;  // set ids start at 1; dumps may not carry them
  for (const auto& [key, e] : sets_) {
    if (e.present && e.model.family == family && e.model.table == table && e.model.id == id) {
      return &e.model;
    }
  }
  return nullptr;
}

std::vector<const NftChainModel*> NftSnapshot::Chains() const {
  std::vector<const NftChainModel*> out;
  for (const auto& [key, e] : chains_) {
    if (e.present) out.push_back(&e.model);
  }
  return out;
}

std::vector<const NftSetModel*> NftSnapshot::Sets() const {
  std::vector<const NftSetModel*> out;
  for (const auto& [key, e] : sets_) {
    if (e.present) out.push_back(&e.model);
  }
  return out;
}

std::vector<const NftChainModel*> NftSnapshot::SortedBaseChains(uint8_t nfproto,
                                                                uint32_t hook) const {
  struct Ranked {
    const NftChainModel* chain;
    uint64_t table_handle;
  };
  std::vector<Ranked> ranked;
  for (const auto& [key, e] : chains_) {
    const NftChainModel& c = e.model;
    if (!e.present || !c.base() || *c.hook != hook) continue;
    if (c.family != nfproto && c.family != NFPROTO_INET) continue;
    const NftTableModel* t = FindTable(c.family, c.table);
    if (t != nullptr && t->dormant()) continue;
    ranked.push_back({&c, t != nullptr ? t->handle : 0});
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    return std::make_tuple(a.chain->priority, a.table_handle, a.chain->handle) <
           std::make_tuple(b.chain->priority, b.table_handle, b.chain->handle);
  });
  std::vector<const NftChainModel*> out;
  out.reserve(ranked.size());
  for (const Ranked& r : ranked) out.push_back(r.chain);
  return out;
}

Status NftSnapshot::Begin(uint32_t* generation) {
  *generation = generation_;
  return Status::Ok();
}

Status NftSnapshot::StillCurrent(bool* current) {
  *current = true;
  return Status::Ok();
}

Status NftSnapshot::BaseChains(uint8_t nfproto, uint32_t hook,
                               std::vector<const NftChainModel*>* chains) {
  *chains = SortedBaseChains(nfproto, hook);
  return Status::Ok();
}

Status NftSnapshot::Chain(uint8_t family, const std::string& table, const std::string& name,
                          const NftChainModel** chain) {
  *chain = FindChain(family, table, name);
  if (*chain == nullptr) return Status::NoData("no chain " + table + " " + name);
  return Status::Ok();
}

Status NftSnapshot::Set(uint8_t family, const std::string& table, const std::string& name,
                        uint32_t id, const NftSetModel** set) {
  *set = FindSet(family, table, name, id);
  if (*set == nullptr) {
    return Status::NoData("no set " + table + " " +
                          (name.empty() ? "id " + std::to_string(id) : name));
  }
  return Status::Ok();
}

}  // namespace portmap::pathtrace
