/*
 * Per-node counters and drop reasons, generated from one list.
 *
 * C(...) is a plain counter, D(...) is a counter that is also a drop reason: a
 * packet is only ever dropped through node_drop() with one of the D ids, which
 * bumps the counter and writes a trace line naming it.  Names follow OpenBSD's
 * netstat -s structures (struct ipstat ips_badsum -> "ip.badsum"); the few that
 * OpenBSD does not have are marked "ours" and documented in docs/counters.md.
 */
#ifndef STACK_STATS_H
#define STACK_STATS_H

#include <stdbool.h>
#include <stddef.h>

#define STATS_LIST(C, D)                                                     \
	/* Ethernet and interfaces (ours) */                                 \
	C(ETHER_IPACKETS, "ether.ipackets")                                  \
	C(ETHER_OPACKETS, "ether.opackets")                                  \
	D(ETHER_TOOSHORT, "ether.tooshort")                                  \
	D(ETHER_NOTFORUS, "ether.notforus")                                  \
	D(ETHER_NOPROTO, "ether.noproto")                                    \
	D(ETHER_NOLINK, "ether.nolink")                                      \
	/* ARP (FreeBSD's arpstat names; OpenBSD keeps none) */              \
	C(ARP_TXREQUESTS, "arp.txrequests")                                  \
	C(ARP_TXREPLIES, "arp.txreplies")                                    \
	C(ARP_RXREQUESTS, "arp.rxrequests")                                  \
	C(ARP_RXREPLIES, "arp.rxreplies")                                    \
	C(ARP_RECEIVED, "arp.received")                                      \
	D(ARP_BADLEN, "arp.badlen")                                          \
	D(ARP_BADPROTO, "arp.badproto")                                      \
	D(ARP_DUPIP, "arp.dupip")                                            \
	D(ARP_DROPPED, "arp.dropped")                                        \
	D(ARP_TIMEOUT, "arp.timeout")                                        \
	/* IPv4 (struct ipstat) */                                           \
	C(IP_TOTAL, "ip.total")                                              \
	D(IP_BADSUM, "ip.badsum")                                            \
	D(IP_TOOSHORT, "ip.tooshort")                                        \
	D(IP_TOOSMALL, "ip.toosmall")                                        \
	D(IP_BADHLEN, "ip.badhlen")                                          \
	D(IP_BADLEN, "ip.badlen")                                            \
	D(IP_BADVERS, "ip.badvers")                                          \
	D(IP_BADOPTIONS, "ip.badoptions")                                    \
	D(IP_BADADDR, "ip.badaddr")                                          \
	C(IP_FRAGMENTS, "ip.fragments")                                      \
	D(IP_BADFRAGS, "ip.badfrags")                                        \
	D(IP_FRAGDROPPED, "ip.fragdropped")                                  \
	D(IP_FRAGTIMEOUT, "ip.fragtimeout")                                  \
	D(IP_RCVMEMDROP, "ip.rcvmemdrop")                                    \
	D(IP_TOOLONG, "ip.toolong")                                          \
	C(IP_REASSEMBLED, "ip.reassembled")                                  \
	C(IP_FORWARD, "ip.forward")                                          \
	D(IP_CANTFORWARD, "ip.cantforward")                                  \
	D(IP_TTLEXCEEDED, "ip.ttlexceeded") /* ours */                       \
	D(IP_NOPROTO, "ip.noproto")                                          \
	C(IP_DELIVERED, "ip.delivered")                                      \
	C(IP_LOCALOUT, "ip.localout")                                        \
	D(IP_ODROPPED, "ip.odropped")                                        \
	D(IP_NOROUTE, "ip.noroute")                                          \
	C(IP_FRAGMENTED, "ip.fragmented")                                    \
	C(IP_OFRAGMENTS, "ip.ofragments")                                    \
	D(IP_CANTFRAG, "ip.cantfrag")                                        \
	/* ICMP (struct icmpstat) */                                         \
	C(ICMP_ERROR, "icmp.error")                                          \
	D(ICMP_OLDICMP, "icmp.oldicmp")                                      \
	D(ICMP_OLDSHORT, "icmp.oldshort")                                    \
	D(ICMP_TOOFREQ, "icmp.toofreq")                                      \
	D(ICMP_BADCODE, "icmp.badcode")                                      \
	D(ICMP_TOOSHORT, "icmp.tooshort")                                    \
	D(ICMP_CHECKSUM, "icmp.checksum")                                    \
	D(ICMP_BADLEN, "icmp.badlen")                                        \
	D(ICMP_BMCASTECHO, "icmp.bmcastecho")                                \
	C(ICMP_REFLECT, "icmp.reflect")                                      \
	C(ICMP_INHIST_ECHOREPLY, "icmp.inhist.echoreply")                    \
	C(ICMP_INHIST_UNREACH, "icmp.inhist.unreach")                        \
	C(ICMP_INHIST_SOURCEQUENCH, "icmp.inhist.sourcequench")              \
	C(ICMP_INHIST_REDIRECT, "icmp.inhist.redirect")                      \
	C(ICMP_INHIST_ECHO, "icmp.inhist.echo")                              \
	C(ICMP_INHIST_TIMXCEED, "icmp.inhist.timxceed")                      \
	C(ICMP_INHIST_PARAMPROB, "icmp.inhist.paramprob")                    \
	C(ICMP_INHIST_OTHER, "icmp.inhist.other") /* ours */                 \
	C(ICMP_OUTHIST_ECHOREPLY, "icmp.outhist.echoreply")                  \
	C(ICMP_OUTHIST_UNREACH, "icmp.outhist.unreach")                      \
	C(ICMP_OUTHIST_ECHO, "icmp.outhist.echo")                            \
	C(ICMP_OUTHIST_TIMXCEED, "icmp.outhist.timxceed")                    \
	C(ICMP_OUTHIST_PARAMPROB, "icmp.outhist.paramprob")                  \
	D(ICMP_UNHANDLED, "icmp.unhandled") /* ours: no one to deliver to */ \
	/* UDP (struct udpstat) */                                           \
	C(UDP_IPACKETS, "udp.ipackets")                                      \
	D(UDP_HDROPS, "udp.hdrops")                                          \
	D(UDP_BADSUM, "udp.badsum")                                          \
	C(UDP_NOSUM, "udp.nosum")                                            \
	D(UDP_BADLEN, "udp.badlen")                                          \
	D(UDP_NOPORT, "udp.noport")                                          \
	D(UDP_NOPORTBCAST, "udp.noportbcast")                                \
	D(UDP_FULLSOCK, "udp.fullsock")                                      \
	C(UDP_OPACKETS, "udp.opackets")

enum stat_id {
#define STATS_ENUM(id, name) STAT_##id,
	STATS_LIST(STATS_ENUM, STATS_ENUM)
#undef STATS_ENUM
	    STAT__COUNT
};

/* The counter's dotted name, e.g. "ip.badsum". */
const char *stat_name(enum stat_id id);
/* True when the id is a drop reason (declared with D). */
bool stat_is_drop(enum stat_id id);
/* Look a counter up by name; returns -1 when there is none. */
int stat_lookup(const char *name);

#endif
