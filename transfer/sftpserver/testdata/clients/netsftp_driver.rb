# Ruby net-sftp (ruby-net-sftp, net-ssh) client driver; see README.md.
require 'net/sftp'
op, a, b = ARGV
Net::SFTP.start(ENV['LV_HOST'], ENV['LV_USER'], port: ENV['LV_PORT'].to_i, keys: [ENV['LV_KEY']], keys_only: true,
                user_known_hosts_file: ENV['LV_KNOWN'], global_known_hosts_file: [], verify_host_key: :always,
                non_interactive: true, timeout: 10, use_agent: false) do |sftp|
  case op
  when 'ls' then sftp.dir.foreach(a) { |e| puts e.name }
  when 'get' then sftp.download!(a, b)
  when 'reget'
    off = File.size(b)
    sftp.file.open(a) do |f|
      f.pos = off
      File.open(b, 'ab') do |o|
        while (d = f.read(32_768)) && !d.empty?
          o.write(d)
        end
      end
    end
  when 'rm' then sftp.remove!(a)
  when 'put' then sftp.upload!(a, b)
  end
end
