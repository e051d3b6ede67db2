// The page's half of pwreset.server.passwords.rules: which rules of a policy (as `meta` or
// the password step carries it) a password breaks, among those the page can check
// ("checked_by": "page"). The server checks every rule again; tests compare the two halves.
// `username` is the account name the user typed, for the names rule before the server has
// listed the user's own names (in `meta`).
function pwresetBrokenRules(policy, password, username) {
  const classOf = (c) =>
    /\p{Ll}/u.test(c) ? "lower"
    : /\p{Lu}/u.test(c) ? "upper"
    : /\p{Nd}/u.test(c) ? "digit"
    : /\p{L}/u.test(c) ? "letter"
    : "symbol";
  const chars = Array.from(password);
  const lowered = password.toLowerCase();
  const checks = {
    min_length: (p) => chars.length >= p.n,
    char_classes: (p) => new Set(chars.map(classOf)).size >= p.n,
    user_names: (p) => {
      const tokens = [...p.tokens];
      if (username && Array.from(username).length >= p.min_token) {
        tokens.push(username.toLowerCase());
      }
      return !tokens.some((token) => lowered.includes(token));
    },
    forbidden_words: (p) => !p.words.some((word) => lowered.includes(word)),
  };
  return policy.rules.filter((rule) => rule.checked_by === "page" && !checks[rule.id](rule.params));
}
