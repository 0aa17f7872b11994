"""Secret masking: no secret from a generated corpus survives; ordinary text passes through unchanged."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bridge.collectors.masking import MASK, mask_line, mask_text

SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+=!*$%^-"
SCHEME_WORDS = {"bearer", "basic", "digest", "token", "negotiate", "aws4-hmac-sha256", "hmac"}
secrets = st.text(st.sampled_from(SECRET_ALPHABET), min_size=8, max_size=40).filter(
    lambda s: s.strip("*") != "" and not s.startswith("-") and s.lower() not in SCHEME_WORDS  # a scheme is no secret
)

# Where secrets show up in real logs and configs; {s} is the secret.
TEMPLATES = [
    "password={s}",
    "db.password = {s}",
    "PASSWORD: {s}",
    "spring.datasource.password={s} next=1",
    '{{"password": "{s}", "user": "bob"}}',
    "{{'secretKey': '{s}'}}",
    "accessKey={s}, other=1",
    "rocketmq.acl.secretKey={s}",
    "ONS_ACCESS_KEY: {s}",
    "Authorization: Bearer {s}",
    "authorization: Basic {s}",
    "headers={{'Authorization': 'Token {s}'}}",
    "Proxy-Authorization: {s}",
    "X-Api-Key: {s}",
    "Cookie: JSESSIONID={s}; theme=dark",
    "Set-Cookie: session={s}; Path=/; HttpOnly",
    "GET /cart?user_id=7&token={s}&x=1 HTTP/1.1",
    "url=jdbc:mysql://root:{s}@checkout-mysql:3306/checkout",
    "redis://:{s}@127.0.0.1:6379/0",
    "https://deploy:{s}@git.example.com/repo.git",
    "https://{s}@git.example.com/repo.git",
    "java -Drocketmq.secret.key={s} -jar broker.jar",
    "mysql --password {s} -h db",
    "cli --api-key={s}",
    "<password>{s}</password>",
    "<secretKey>{s}</secretKey>",
    "api_key: '{s}'",
    "client_secret => {s}",
    "MYSQL_ROOT_PASSWORD={s}",
    "sessionid={s}",
]

noise = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789 :-[]"), max_size=30)


@settings(max_examples=400)
@given(st.sampled_from(TEMPLATES), secrets, noise, noise)
def test_no_secret_survives(template: str, secret: str, before: str, after: str) -> None:
    skeleton = f"{before} {template} {after}"
    assume(secret not in skeleton.replace("{s}", MASK))
    line = skeleton.format(s=secret)
    masked = mask_line(line)
    assert secret not in masked
    assert MASK in masked


@given(st.lists(st.tuples(st.sampled_from(TEMPLATES), secrets), min_size=1, max_size=8))
def test_no_secret_survives_in_a_multiline_corpus(entries: list[tuple[str, str]]) -> None:
    lines = [f"2024-05-01 12:00:0{i % 10},123 INFO x - {t.format(s=s)}" for i, (t, s) in enumerate(entries)]
    skeleton = "\n".join(t for t, _ in entries)
    assume(all(s not in skeleton for _, s in entries))
    masked = mask_text("\n".join(lines) + "\n")
    assert all(s not in masked for _, s in entries)
    assert masked.count("\n") == len(lines)


@given(st.lists(st.sampled_from(SECRET_ALPHABET.replace("=", "")), min_size=20, max_size=200).map("".join))
def test_private_key_blocks_are_masked(body: str) -> None:
    text = f"before\n-----BEGIN RSA PRIVATE KEY-----\n{body}\n{body[::-1]}\n-----END RSA PRIVATE KEY-----\nafter\n"
    masked = mask_text(text)
    assert body not in masked and body[::-1] not in masked
    assert masked.startswith("before\n-----BEGIN") and masked.endswith("-----END RSA PRIVATE KEY-----\nafter\n")


WORDS = ["broker", "send", "message", "topic", "ok", "queue", "offset", "INFO", "WARN", "cart", "user", "id", "=", ":"]


@given(st.lists(st.sampled_from(WORDS) | st.from_regex(r"[0-9]{1,6}", fullmatch=True), max_size=20))
def test_ordinary_lines_pass_through_unchanged(words: list[str]) -> None:
    line = " ".join(words) + "\n"
    assert mask_text(line) == line


def test_what_is_kept_around_a_secret() -> None:
    assert mask_line("Authorization: Bearer abc.def") == "Authorization: Bearer ***"
    assert mask_line('{"password": "a b c", "user": "bob"}') == '{"password": "***", "user": "bob"}'
    assert mask_line("jdbc:mysql://root:pw@db:3306/x") == "jdbc:mysql://***@db:3306/x"
    assert mask_line("mysql --password hunter2 -h db") == "mysql --password *** -h db"
    assert mask_line("key AKIAABCDEFGHIJKLMNOP and LTAI5tAbCdEfGhIjKlMn") == "key *** and ***"
