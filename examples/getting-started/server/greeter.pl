#!/usr/bin/perl
# The "service" under test: answers each TCP line with a greeting.
use strict;
use warnings;
use IO::Socket::INET;

my $server = IO::Socket::INET->new(LocalPort => 4000, Listen => 16, ReuseAddr => 1) or die "listen: $!\n";
$| = 1;
print "greeter ready\n";
while (my $client = $server->accept) {
  while (my $name = <$client>) {
    chomp $name;
    print $client "hello, $name ($ENV{GREETING_STYLE})\n";
  }
}
