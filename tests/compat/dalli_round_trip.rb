# dalli_round_trip.rb: Dalli (Debian's ruby-dalli: the binary protocol, SASL
# when given a user) does the same round trips as test_clients.py's Python
# clients against one server and prints what each returned, one JSON array;
# test_clients.py compares the server under test with memcached 1.6.18.
# Usage: ruby dalli_round_trip.rb PORT PREFIX [USER PASSWORD]
require "dalli"
require "json"

port, prefix, user, password = ARGV
options = { socket_timeout: 5, socket_max_failures: 1, down_retry_delay: 0 }
options.update(username: user, password: password) if user
Dalli.logger.level = Logger::FATAL

def attempt
  yield
rescue Dalli::DalliError => e
  "#{e.class}"
end

dc = Dalli::Client.new("127.0.0.1:#{port}", options)
p = prefix
got = []
got << attempt { dc.set(p + "a", "hello") ? true : false }
got << attempt { dc.get(p + "a") }
got << attempt { dc.get(p + "missing") }
got << attempt { dc.set(p + "b", "B") ? true : false }
got << attempt { dc.get_multi(p + "a", p + "b", p + "zz").map { |k, v| [k[p.size..], v] }.sort }
got << attempt { dc.add(p + "d", "x") ? true : false }
got << attempt { dc.add(p + "d", "y") ? true : false }
got << attempt { dc.replace(p + "d", "z") ? true : false }
got << attempt { dc.set(p + "n", "5", nil, raw: true) ? true : false }
got << attempt { dc.incr(p + "n", 2) }
got << attempt { dc.decr(p + "n", 10) }
got << attempt { dc.incr(p + "counter", 1, nil, 40) }
got << attempt { dc.append(p + "d", "!") }
got << attempt { dc.get(p + "d") }
got << attempt { dc.delete(p + "a") }
got << attempt { dc.delete(p + "a") }
got << attempt { dc.get(p + "a") }
big = "q" * 300_000
got << attempt { dc.set(p + "big", big) ? true : false }
got << attempt { dc.get(p + "big") == big }
got << attempt { dc.touch(p + "b", 100) ? true : false }
dc.close
puts JSON.generate(got)
