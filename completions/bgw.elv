
use builtin;
use str;

set edit:completion:arg-completer[bgw] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'bgw'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'bgw'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand run 'Start a gateway and launch Claude Code through it; exits when Claude Code does'
            cand serve 'Run the gateway for any Anthropic Messages client'
            cand keys 'Add, list and remove provider keys'
            cand models 'List the models each configured provider offers'
            cand route 'Routing rules: where requests go by a CEL condition, weighted splits, fallbacks'
            cand budget 'Budgets and rate limits per virtual key, team, customer, provider or in all'
            cand logs 'Show the request log: every request, its provider, tokens, cost'
            cand self-update 'Replace this bgw with the newest release (sha256 checked), if install.sh installed it'
            cand completions 'Print the completion script for bash, zsh, fish, powershell or elvish'
            cand store-owner 'Hold the store file and serve other bgw processes (started by bgw itself when needed)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bgw;run'= {
            cand --opus 'Model for the `opus` alias, as provider/model'
            cand --sonnet 'Model for the `sonnet` alias, as provider/model'
            cand --haiku 'Model for the `haiku` alias (and background tasks), as provider/model'
            cand --fable 'Model for the `fable` alias, as provider/model'
            cand --model 'The session''s main model, as provider/model'
            cand --port 'Port for the gateway (0 picks a free one)'
            cand --key 'Charge this session to the stored virtual key NAME (its budgets, team and customer), without handling its secret'
            cand --budget 'Stop this session once it has spent this many US dollars (`5`, `$12.50`)'
            cand --claude-bin 'The Claude Code executable [default: `claude` on PATH]'
            cand --max-body-mb 'Largest request body accepted, in MiB'
            cand --upstream-timeout 'Seconds an upstream may stay silent before the request fails'
            cand --first-byte-timeout 'Seconds a streamed answer''s first event may take before the next target is tried'
            cand --max-attempts 'Tries of one request across all its targets (retries and fallbacks together)'
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand --bedrock 'Run Claude Code in its Amazon Bedrock mode (`CLAUDE_CODE_USE_BEDROCK`), served by bgw: for setups that require that mode; the models are routed like any others'
            cand --vertex 'Run Claude Code in its Google Vertex AI mode (`CLAUDE_CODE_USE_VERTEX`), served by bgw'
            cand --no-content 'Log requests without their bodies (the request and the response)'
            cand --no-log 'Keep no request log at all (`bgw logs` will not see this gateway''s requests)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;serve'= {
            cand --host 'Address to listen on'
            cand --port 'Port to listen on (0 picks a free one)'
            cand --max-body-mb 'Largest request body accepted, in MiB'
            cand --upstream-timeout 'Seconds an upstream may stay silent before the request fails'
            cand --first-byte-timeout 'Seconds a streamed answer''s first event may take before the next target is tried'
            cand --max-attempts 'Tries of one request across all its targets (retries and fallbacks together)'
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand --allow-anonymous 'Serve requests without a virtual key too (as anonymous callers), even once virtual keys exist or on a non-loopback `--host`'
            cand --no-content 'Log requests without their bodies (the request and the response)'
            cand --no-log 'Keep no request log at all (`bgw logs` will not see this gateway''s requests)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;keys'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand add 'Add a key for a provider'
            cand list 'List keys (never prints a secret)'
            cand rm 'Remove a key by name'
            cand virtual 'Virtual keys: the keys bgw gives its own callers, each with its models, budget and expiry'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bgw;keys;add'= {
            cand --name 'Name of this key [default: the provider name]'
            cand --value 'The key itself (stored in the data file; prefer --env)'
            cand --env 'Read the key from this environment variable each time it is used'
            cand --file 'vertex: a service account''s JSON key file, read each time it is used (only its path is stored). Without --file, --value or --stdin, vertex uses the application-default credentials (`gcloud auth application-default login`) and bedrock the AWS credentials of the environment or of --profile'
            cand --project 'vertex: the Google Cloud project [default: the key file''s]'
            cand --region 'vertex: the location (`us-east5`, `global`) [default: global]; bedrock: the AWS region [default: AWS_REGION, or the profile''s]'
            cand --profile 'bedrock: the profile of ~/.aws/credentials to sign with [default: AWS_PROFILE, or default] (the environment''s AWS_ACCESS_KEY_ID comes first, as in the AWS CLI)'
            cand --base-url 'Base URL of the API (required for azure and --compat)'
            cand --weight 'Share of requests this key takes among the provider''s keys (any scale: 70 and 30, or 0.7 and 0.3); 0 keeps it for failover only'
            cand --models 'Use this key only for these models (comma-separated)'
            cand --compat 'For a provider of your own: the API it speaks (openai or anthropic)'
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand --stdin 'Read the key from standard input (stored in the data file); for vertex, a service account''s JSON key'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;keys;list'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;keys;rm'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;keys;virtual'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand create 'Make a virtual key; its secret is printed once, on stdout'
            cand list 'List virtual keys (never a secret: only its last 4 characters)'
            cand show 'Show one virtual key: what it may use, its limits, its status'
            cand rotate 'Give a virtual key a new secret (printed once); the old one stops working at once'
            cand disable 'Refuse a virtual key''s requests until `enable`'
            cand enable 'Accept a disabled virtual key''s requests again'
            cand rm 'Remove a virtual key and its limits'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bgw;keys;virtual;create'= {
            cand --team 'The team it belongs to (made if new); team budgets count its spend'
            cand --customer 'The customer it belongs to (made if new); customer budgets count its spend'
            cand --models 'Models it may use, comma-separated: `openai/*`, `groq/llama-*`, `anthropic/claude-sonnet-4-5` (a bare name is Anthropic''s) [default: all]'
            cand --providers 'Providers it may use, comma-separated [default: all]'
            cand --budget 'US dollars it may spend per period: `50/month`, `5/day`, `200/30d`, `10/total`'
            cand --rate 'Requests it may make per period: `60/min`, `10k/day`'
            cand --tokens 'Tokens it may use per period: `2M/day` (repeat for other periods)'
            cand --expires 'When it stops working: a duration from now (`30d`, `12h`) or a date (`2027-01-01`)'
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;keys;virtual;list'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand --json 'One JSON array of objects instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;keys;virtual;show'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand --json 'One JSON object instead of lines'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;keys;virtual;rotate'= {
            cand --expires 'A new expiry: a duration from now (`30d`), a date (`2027-01-01`), or `never`'
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;keys;virtual;disable'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;keys;virtual;enable'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;keys;virtual;rm'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;keys;virtual;help'= {
            cand create 'Make a virtual key; its secret is printed once, on stdout'
            cand list 'List virtual keys (never a secret: only its last 4 characters)'
            cand show 'Show one virtual key: what it may use, its limits, its status'
            cand rotate 'Give a virtual key a new secret (printed once); the old one stops working at once'
            cand disable 'Refuse a virtual key''s requests until `enable`'
            cand enable 'Accept a disabled virtual key''s requests again'
            cand rm 'Remove a virtual key and its limits'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bgw;keys;virtual;help;create'= {
        }
        &'bgw;keys;virtual;help;list'= {
        }
        &'bgw;keys;virtual;help;show'= {
        }
        &'bgw;keys;virtual;help;rotate'= {
        }
        &'bgw;keys;virtual;help;disable'= {
        }
        &'bgw;keys;virtual;help;enable'= {
        }
        &'bgw;keys;virtual;help;rm'= {
        }
        &'bgw;keys;virtual;help;help'= {
        }
        &'bgw;keys;help'= {
            cand add 'Add a key for a provider'
            cand list 'List keys (never prints a secret)'
            cand rm 'Remove a key by name'
            cand virtual 'Virtual keys: the keys bgw gives its own callers, each with its models, budget and expiry'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bgw;keys;help;add'= {
        }
        &'bgw;keys;help;list'= {
        }
        &'bgw;keys;help;rm'= {
        }
        &'bgw;keys;help;virtual'= {
            cand create 'Make a virtual key; its secret is printed once, on stdout'
            cand list 'List virtual keys (never a secret: only its last 4 characters)'
            cand show 'Show one virtual key: what it may use, its limits, its status'
            cand rotate 'Give a virtual key a new secret (printed once); the old one stops working at once'
            cand disable 'Refuse a virtual key''s requests until `enable`'
            cand enable 'Accept a disabled virtual key''s requests again'
            cand rm 'Remove a virtual key and its limits'
        }
        &'bgw;keys;help;virtual;create'= {
        }
        &'bgw;keys;help;virtual;list'= {
        }
        &'bgw;keys;help;virtual;show'= {
        }
        &'bgw;keys;help;virtual;rotate'= {
        }
        &'bgw;keys;help;virtual;disable'= {
        }
        &'bgw;keys;help;virtual;enable'= {
        }
        &'bgw;keys;help;virtual;rm'= {
        }
        &'bgw;keys;help;help'= {
        }
        &'bgw;models'= {
            cand --provider 'Only this provider'
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand --json 'One JSON object per model, one per line'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand price 'Set, remove and list your own prices per model (they win over bgw''s)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bgw;models;price'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand set 'Set your price for a model, in US dollars per million tokens'
            cand rm 'Remove your price for a model (back to bgw''s built-in price, or to unknown)'
            cand list 'List your prices; with --all, bgw''s built-in prices too'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bgw;models;price;set'= {
            cand --input 'US dollars per million uncached input tokens'
            cand --output 'US dollars per million output tokens'
            cand --cache-read 'US dollars per million tokens read from the prompt cache [default: the price in force for it, else the input price]'
            cand --cache-write 'US dollars per million tokens written to the prompt cache [default: the price in force for it, else the input price]'
            cand --note 'Why, or where the numbers come from (shown by `bgw models price list`)'
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;models;price;rm'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;models;price;list'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand --all 'Also list bgw''s built-in prices'
            cand --json 'One JSON object per price, one per line'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;models;price;help'= {
            cand set 'Set your price for a model, in US dollars per million tokens'
            cand rm 'Remove your price for a model (back to bgw''s built-in price, or to unknown)'
            cand list 'List your prices; with --all, bgw''s built-in prices too'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bgw;models;price;help;set'= {
        }
        &'bgw;models;price;help;rm'= {
        }
        &'bgw;models;price;help;list'= {
        }
        &'bgw;models;price;help;help'= {
        }
        &'bgw;models;help'= {
            cand price 'Set, remove and list your own prices per model (they win over bgw''s)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bgw;models;help;price'= {
            cand set 'Set your price for a model, in US dollars per million tokens'
            cand rm 'Remove your price for a model (back to bgw''s built-in price, or to unknown)'
            cand list 'List your prices; with --all, bgw''s built-in prices too'
        }
        &'bgw;models;help;price;set'= {
        }
        &'bgw;models;help;price;rm'= {
        }
        &'bgw;models;help;price;list'= {
        }
        &'bgw;models;help;help'= {
        }
        &'bgw;route'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand add 'Add a rule: `bgw route add ab-test --when ''tier == "sonnet"'' --to ''openai/gpt-4o=70,groq/llama-3.1-70b-versatile=30''`'
            cand list 'List the rules in the order they are searched'
            cand show 'Show one rule'
            cand rm 'Remove a rule'
            cand disable 'Stop using a rule (it stays stored)'
            cand enable 'Use a disabled rule again'
            cand test 'Show which rule a request would match, why the rules before it did not, and the targets it would try in order'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bgw;route;add'= {
            cand --when 'The CEL condition, e.g. `budget.used_pct > 85.0` or `model == "openai/gpt-5"`'
            cand --to 'Where matching requests go: `provider/model`, or a weighted split `openai/gpt-4o=70,groq/llama-3.1-70b-versatile=30` (weights normalise: 70,30 = 0.7,0.3)'
            cand --fallback 'Models tried in turn when the chosen target fails (comma-separated `provider/model`s)'
            cand --scope 'Whose requests it sees: global, key:NAME, team:NAME or customer:NAME'
            cand --priority 'Within its scope, rules of higher priority are searched first'
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;route;list'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand --json 'One JSON object per line'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;route;show'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand --json 'As JSON'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;route;rm'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;route;disable'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;route;enable'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;route;test'= {
            cand --model 'The model the request asks for'
            cand --key 'The virtual key making the request (its team and customer come with it)'
            cand --header 'A request header, `name=value` (repeatable)'
            cand --tokens 'The request''s input tokens (`tokens.input`)'
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand --stream 'The request streams (`request.stream`)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;route;help'= {
            cand add 'Add a rule: `bgw route add ab-test --when ''tier == "sonnet"'' --to ''openai/gpt-4o=70,groq/llama-3.1-70b-versatile=30''`'
            cand list 'List the rules in the order they are searched'
            cand show 'Show one rule'
            cand rm 'Remove a rule'
            cand disable 'Stop using a rule (it stays stored)'
            cand enable 'Use a disabled rule again'
            cand test 'Show which rule a request would match, why the rules before it did not, and the targets it would try in order'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bgw;route;help;add'= {
        }
        &'bgw;route;help;list'= {
        }
        &'bgw;route;help;show'= {
        }
        &'bgw;route;help;rm'= {
        }
        &'bgw;route;help;disable'= {
        }
        &'bgw;route;help;enable'= {
        }
        &'bgw;route;help;test'= {
        }
        &'bgw;route;help;help'= {
        }
        &'bgw;budget'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand --json 'One JSON array instead of the table'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand set 'Set a budget or rate limit: `bgw budget set team eng 500/month`'
            cand rm 'Remove a scope''s budget and rate limits: `bgw budget rm team eng`'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bgw;budget;set'= {
            cand --rate 'Requests per period, for all the scope''s callers together (`60/min`)'
            cand --tokens 'Tokens per period, input and output (`100k/min`, `2M/day`); once per period'
            cand --tz 'IANA time zone of the calendar periods (`Asia/Shanghai`) [default: UTC]'
            cand --warn 'Warn from this percentage of the money budget on [default: 80] (Claude Code shows its usage warning only from 70% on; `bgw budget` and `bgw run`''s last line from this)'
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;budget;rm'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;budget;help'= {
            cand set 'Set a budget or rate limit: `bgw budget set team eng 500/month`'
            cand rm 'Remove a scope''s budget and rate limits: `bgw budget rm team eng`'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bgw;budget;help;set'= {
        }
        &'bgw;budget;help;rm'= {
        }
        &'bgw;budget;help;help'= {
        }
        &'bgw;logs'= {
            cand --provider 'Only requests served by this provider (`openai`, `groq`, …)'
            cand --model 'Only requests for this model (the upstream model or the one asked for)'
            cand --status 'Only `ok` requests, only `error`s (refused or broken off), or one HTTP status (`429`)'
            cand --since 'Only requests started at or after WHEN: a duration ago (`30s`, `90m`, `2h`, `7d`), a date (`2026-11-20`) or date and time (`2026-11-20T14:00`), both UTC, or RFC 3339 with `Z` or an offset'
            cand --until 'Only requests started before WHEN (the forms of --since)'
            cand --search 'Only requests whose request, response or error contains TEXT (any case)'
            cand --session 'Only requests of one Claude Code session (its session id)'
            cand --key 'Only requests made with this virtual key'
            cand --team 'Only requests of this team''s virtual keys'
            cand --customer 'Only requests of this customer''s virtual keys'
            cand -n 'Show at most N requests, the newest [default: 50 in the table, all with --json]'
            cand --limit 'Show at most N requests, the newest [default: 50 in the table, all with --json]'
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -f 'Print the newest requests (10, or --limit), then each new one as it is logged, from every running gateway (like `tail -f`; Ctrl-C ends it)'
            cand --follow 'Print the newest requests (10, or --limit), then each new one as it is logged, from every running gateway (like `tail -f`; Ctrl-C ends it)'
            cand --json 'One JSON object per line instead of the table (newest first; with --follow, in the order they are logged)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand show 'One request whole: timings, attempts, the request and the response'
            cand stats 'Totals per provider, model, session, virtual key, team or customer: requests, errors, tokens, cost, latency'
            cand settings 'Show or change what the request log keeps and for how long'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bgw;logs;show'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand --json 'One JSON object per line instead of the table (newest first; with --follow, in the order they are logged)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;logs;stats'= {
            cand --provider 'Only requests served by this provider (`openai`, `groq`, …)'
            cand --model 'Only requests for this model (the upstream model or the one asked for)'
            cand --status 'Only `ok` requests, only `error`s (refused or broken off), or one HTTP status (`429`)'
            cand --since 'Only requests started at or after WHEN: a duration ago (`30s`, `90m`, `2h`, `7d`), a date (`2026-11-20`) or date and time (`2026-11-20T14:00`), both UTC, or RFC 3339 with `Z` or an offset'
            cand --until 'Only requests started before WHEN (the forms of --since)'
            cand --search 'Only requests whose request, response or error contains TEXT (any case)'
            cand --session 'Only requests of one Claude Code session (its session id)'
            cand --key 'Only requests made with this virtual key'
            cand --team 'Only requests of this team''s virtual keys'
            cand --customer 'Only requests of this customer''s virtual keys'
            cand --by 'Group the totals by this'
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand --json 'One JSON object per line instead of the table (newest first; with --follow, in the order they are logged)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;logs;settings'= {
            cand --content 'Keep each request''s body and response (`bgw serve --no-content` still keeps none for its own requests)'
            cand --retention 'Delete rows older than this (`30d`, `8w`, a number of days), or keep them `forever`'
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand --json 'One JSON object per line instead of the table (newest first; with --follow, in the order they are logged)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;logs;help'= {
            cand show 'One request whole: timings, attempts, the request and the response'
            cand stats 'Totals per provider, model, session, virtual key, team or customer: requests, errors, tokens, cost, latency'
            cand settings 'Show or change what the request log keeps and for how long'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bgw;logs;help;show'= {
        }
        &'bgw;logs;help;stats'= {
        }
        &'bgw;logs;help;settings'= {
        }
        &'bgw;logs;help;help'= {
        }
        &'bgw;self-update'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand --check 'Only say whether a newer release exists; change nothing'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;completions'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;store-owner'= {
            cand --data-dir 'Where bgw keeps its state (one redb file) [default: the platform data directory]'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'bgw;help'= {
            cand run 'Start a gateway and launch Claude Code through it; exits when Claude Code does'
            cand serve 'Run the gateway for any Anthropic Messages client'
            cand keys 'Add, list and remove provider keys'
            cand models 'List the models each configured provider offers'
            cand route 'Routing rules: where requests go by a CEL condition, weighted splits, fallbacks'
            cand budget 'Budgets and rate limits per virtual key, team, customer, provider or in all'
            cand logs 'Show the request log: every request, its provider, tokens, cost'
            cand self-update 'Replace this bgw with the newest release (sha256 checked), if install.sh installed it'
            cand completions 'Print the completion script for bash, zsh, fish, powershell or elvish'
            cand store-owner 'Hold the store file and serve other bgw processes (started by bgw itself when needed)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'bgw;help;run'= {
        }
        &'bgw;help;serve'= {
        }
        &'bgw;help;keys'= {
            cand add 'Add a key for a provider'
            cand list 'List keys (never prints a secret)'
            cand rm 'Remove a key by name'
            cand virtual 'Virtual keys: the keys bgw gives its own callers, each with its models, budget and expiry'
        }
        &'bgw;help;keys;add'= {
        }
        &'bgw;help;keys;list'= {
        }
        &'bgw;help;keys;rm'= {
        }
        &'bgw;help;keys;virtual'= {
            cand create 'Make a virtual key; its secret is printed once, on stdout'
            cand list 'List virtual keys (never a secret: only its last 4 characters)'
            cand show 'Show one virtual key: what it may use, its limits, its status'
            cand rotate 'Give a virtual key a new secret (printed once); the old one stops working at once'
            cand disable 'Refuse a virtual key''s requests until `enable`'
            cand enable 'Accept a disabled virtual key''s requests again'
            cand rm 'Remove a virtual key and its limits'
        }
        &'bgw;help;keys;virtual;create'= {
        }
        &'bgw;help;keys;virtual;list'= {
        }
        &'bgw;help;keys;virtual;show'= {
        }
        &'bgw;help;keys;virtual;rotate'= {
        }
        &'bgw;help;keys;virtual;disable'= {
        }
        &'bgw;help;keys;virtual;enable'= {
        }
        &'bgw;help;keys;virtual;rm'= {
        }
        &'bgw;help;models'= {
            cand price 'Set, remove and list your own prices per model (they win over bgw''s)'
        }
        &'bgw;help;models;price'= {
            cand set 'Set your price for a model, in US dollars per million tokens'
            cand rm 'Remove your price for a model (back to bgw''s built-in price, or to unknown)'
            cand list 'List your prices; with --all, bgw''s built-in prices too'
        }
        &'bgw;help;models;price;set'= {
        }
        &'bgw;help;models;price;rm'= {
        }
        &'bgw;help;models;price;list'= {
        }
        &'bgw;help;route'= {
            cand add 'Add a rule: `bgw route add ab-test --when ''tier == "sonnet"'' --to ''openai/gpt-4o=70,groq/llama-3.1-70b-versatile=30''`'
            cand list 'List the rules in the order they are searched'
            cand show 'Show one rule'
            cand rm 'Remove a rule'
            cand disable 'Stop using a rule (it stays stored)'
            cand enable 'Use a disabled rule again'
            cand test 'Show which rule a request would match, why the rules before it did not, and the targets it would try in order'
        }
        &'bgw;help;route;add'= {
        }
        &'bgw;help;route;list'= {
        }
        &'bgw;help;route;show'= {
        }
        &'bgw;help;route;rm'= {
        }
        &'bgw;help;route;disable'= {
        }
        &'bgw;help;route;enable'= {
        }
        &'bgw;help;route;test'= {
        }
        &'bgw;help;budget'= {
            cand set 'Set a budget or rate limit: `bgw budget set team eng 500/month`'
            cand rm 'Remove a scope''s budget and rate limits: `bgw budget rm team eng`'
        }
        &'bgw;help;budget;set'= {
        }
        &'bgw;help;budget;rm'= {
        }
        &'bgw;help;logs'= {
            cand show 'One request whole: timings, attempts, the request and the response'
            cand stats 'Totals per provider, model, session, virtual key, team or customer: requests, errors, tokens, cost, latency'
            cand settings 'Show or change what the request log keeps and for how long'
        }
        &'bgw;help;logs;show'= {
        }
        &'bgw;help;logs;stats'= {
        }
        &'bgw;help;logs;settings'= {
        }
        &'bgw;help;self-update'= {
        }
        &'bgw;help;completions'= {
        }
        &'bgw;help;store-owner'= {
        }
        &'bgw;help;help'= {
        }
    ]
    $completions[$command]
}
