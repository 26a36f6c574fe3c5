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
	C(ARP_TABLEFULL, "arp.tablefull")                                    \
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
	C(IP_PMTUFULL, "ip.pmtufull") /* ours: a path MTU not learned */     \
	/* IPv6 (struct ip6stat) */                                          \
	C(IP6_TOTAL, "ip6.total")                                            \
	D(IP6_TOOSMALL, "ip6.toosmall")                                      \
	D(IP6_TOOSHORT, "ip6.tooshort")                                      \
	D(IP6_BADVERS, "ip6.badvers")                                        \
	D(IP6_BADOPTIONS, "ip6.badoptions")                                  \
	D(IP6_TOOMANYHDR, "ip6.toomanyhdr")                                  \
	D(IP6_BADSCOPE, "ip6.badscope")                                      \
	D(IP6_NOTMEMBER, "ip6.notmember")                                    \
	C(IP6_FRAGMENTS, "ip6.fragments")                                    \
	D(IP6_FRAGDROPPED, "ip6.fragdropped")                                \
	D(IP6_BADFRAGS, "ip6.badfrags") /* ours */                           \
	D(IP6_FRAGTIMEOUT, "ip6.fragtimeout")                                \
	D(IP6_FRAGOVERFLOW, "ip6.fragoverflow")                              \
	C(IP6_REASSEMBLED, "ip6.reassembled")                                \
	C(IP6_FRAGMENTED, "ip6.fragmented")                                  \
	C(IP6_OFRAGMENTS, "ip6.ofragments")                                  \
	C(IP6_FORWARD, "ip6.forward")                                        \
	D(IP6_CANTFORWARD, "ip6.cantforward")                                \
	D(IP6_HLIMEXCEEDED, "ip6.hlimexceeded") /* ours */                   \
	D(IP6_NOROUTE, "ip6.noroute")                                        \
	D(IP6_CANTFRAG, "ip6.cantfrag")                                      \
	D(IP6_NOPROTO, "ip6.noproto")   /* ours: an unknown next header */   \
	D(IP6_NONXTHDR, "ip6.nonxthdr") /* ours: next header 59 */           \
	C(IP6_DELIVERED, "ip6.delivered")                                    \
	C(IP6_LOCALOUT, "ip6.localout")                                      \
	D(IP6_ODROPPED, "ip6.odropped")                                      \
	C(IP6_PMTUFULL, "ip6.pmtufull") /* ours: a path MTU not learned */   \
	/* Neighbor discovery (ours: OpenBSD keeps no nd6 statistics) */     \
	C(ND6_SOLICITS, "nd6.solicits")                                      \
	C(ND6_ADVERTS, "nd6.adverts")                                        \
	D(ND6_DROPPED, "nd6.dropped")                                        \
	D(ND6_TIMEOUT, "nd6.timeout")                                        \
	C(ND6_TABLEFULL, "nd6.tablefull")                                    \
	C(ND6_ROUTERSFULL, "nd6.routersfull")                                \
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
	/* ICMPv6 (struct icmp6stat) */                                      \
	C(ICMP6_ERROR, "icmp6.error")                                        \
	D(ICMP6_CANTERROR, "icmp6.canterror")                                \
	D(ICMP6_TOOFREQ, "icmp6.toofreq")                                    \
	D(ICMP6_TOOSHORT, "icmp6.tooshort")                                  \
	D(ICMP6_CHECKSUM, "icmp6.checksum")                                  \
	D(ICMP6_BADCODE, "icmp6.badcode")                                    \
	D(ICMP6_BADLEN, "icmp6.badlen")                                      \
	D(ICMP6_BADNS, "icmp6.badns")                                        \
	D(ICMP6_BADNA, "icmp6.badna")                                        \
	D(ICMP6_BADRA, "icmp6.badra")                                        \
	C(ICMP6_REFLECT, "icmp6.reflect")                                    \
	C(ICMP6_INHIST_UNREACH, "icmp6.inhist.unreach")                      \
	C(ICMP6_INHIST_TOOBIG, "icmp6.inhist.toobig")                        \
	C(ICMP6_INHIST_TIMXCEED, "icmp6.inhist.timxceed")                    \
	C(ICMP6_INHIST_PARAMPROB, "icmp6.inhist.paramprob")                  \
	C(ICMP6_INHIST_ECHO, "icmp6.inhist.echo")                            \
	C(ICMP6_INHIST_ECHOREPLY, "icmp6.inhist.echoreply")                  \
	C(ICMP6_INHIST_RA, "icmp6.inhist.routeradvert")                      \
	C(ICMP6_INHIST_NS, "icmp6.inhist.ns")                                \
	C(ICMP6_INHIST_NA, "icmp6.inhist.na")                                \
	C(ICMP6_INHIST_OTHER, "icmp6.inhist.other") /* ours */               \
	C(ICMP6_OUTHIST_UNREACH, "icmp6.outhist.unreach")                    \
	C(ICMP6_OUTHIST_TOOBIG, "icmp6.outhist.toobig")                      \
	C(ICMP6_OUTHIST_TIMXCEED, "icmp6.outhist.timxceed")                  \
	C(ICMP6_OUTHIST_PARAMPROB, "icmp6.outhist.paramprob")                \
	C(ICMP6_OUTHIST_ECHO, "icmp6.outhist.echo")                          \
	C(ICMP6_OUTHIST_ECHOREPLY, "icmp6.outhist.echoreply")                \
	C(ICMP6_OUTHIST_RA, "icmp6.outhist.routeradvert")                    \
	C(ICMP6_OUTHIST_NS, "icmp6.outhist.ns")                              \
	C(ICMP6_OUTHIST_NA, "icmp6.outhist.na")                              \
	D(ICMP6_UNHANDLED, "icmp6.unhandled") /* ours */                     \
	/* UDP (struct udpstat) */                                           \
	C(UDP_IPACKETS, "udp.ipackets")                                      \
	D(UDP_HDROPS, "udp.hdrops")                                          \
	D(UDP_BADSUM, "udp.badsum")                                          \
	C(UDP_NOSUM, "udp.nosum")                                            \
	D(UDP_BADLEN, "udp.badlen")                                          \
	D(UDP_NOPORT, "udp.noport")                                          \
	D(UDP_NOPORTBCAST, "udp.noportbcast")                                \
	D(UDP_FULLSOCK, "udp.fullsock")                                      \
	D(UDP_NOSEC, "udp.nosec")                                            \
	C(UDP_OPACKETS, "udp.opackets")                                      \
	/* raw IP sockets (struct rip6stat, and ours for IPv4) */            \
	C(RIP_IPACKETS, "rip.ipackets") /* ours */                           \
	C(RIP_OPACKETS, "rip.opackets") /* ours */                           \
	C(RIP6_IPACKETS, "rip6.ipackets")                                    \
	C(RIP6_OPACKETS, "rip6.opackets")                                    \
	/* TCP (struct tcpstat, and ours) */                                 \
	C(TCP_CONNATTEMPT, "tcp.connattempt")                                \
	C(TCP_ACCEPTS, "tcp.accepts")                                        \
	C(TCP_CONNECTS, "tcp.connects")                                      \
	C(TCP_DROPS, "tcp.drops")                                            \
	C(TCP_CONNDROPS, "tcp.conndrops")                                    \
	C(TCP_CLOSED, "tcp.closed")                                          \
	C(TCP_SEGSTIMED, "tcp.segstimed")                                    \
	C(TCP_RTTUPDATED, "tcp.rttupdated")                                  \
	C(TCP_DELACK, "tcp.delack")                                          \
	C(TCP_TIMEOUTDROP, "tcp.timeoutdrop")                                \
	C(TCP_REXMTTIMEO, "tcp.rexmttimeo")                                  \
	C(TCP_PERSISTTIMEO, "tcp.persisttimeo")                              \
	C(TCP_KEEPTIMEO, "tcp.keeptimeo")                                    \
	C(TCP_KEEPPROBE, "tcp.keepprobe")                                    \
	C(TCP_KEEPDROPS, "tcp.keepdrops")                                    \
	C(TCP_SNDTOTAL, "tcp.sndtotal")                                      \
	C(TCP_SNDPACK, "tcp.sndpack")                                        \
	C(TCP_SNDBYTE, "tcp.sndbyte")                                        \
	C(TCP_SNDREXMITPACK, "tcp.sndrexmitpack")                            \
	C(TCP_SNDREXMITBYTE, "tcp.sndrexmitbyte")                            \
	C(TCP_SNDREXMITFAST, "tcp.sndrexmitfast")                            \
	C(TCP_SNDACKS, "tcp.sndacks")                                        \
	C(TCP_SNDPROBE, "tcp.sndprobe")                                      \
	C(TCP_SNDWINUP, "tcp.sndwinup")                                      \
	C(TCP_SNDCTRL, "tcp.sndctrl")                                        \
	C(TCP_SNDRST, "tcp.sndrst")             /* ours */                   \
	C(TCP_SNDCHALLENGE, "tcp.sndchallenge") /* ours */                   \
	C(TCP_RCVTOTAL, "tcp.rcvtotal")                                      \
	C(TCP_RCVPACK, "tcp.rcvpack")                                        \
	C(TCP_RCVBYTE, "tcp.rcvbyte")                                        \
	D(TCP_RCVBADSUM, "tcp.rcvbadsum")                                    \
	D(TCP_RCVBADOFF, "tcp.rcvbadoff")                                    \
	D(TCP_RCVSHORT, "tcp.rcvshort")                                      \
	D(TCP_RCVBADOPT, "tcp.rcvbadopt")     /* ours */                     \
	D(TCP_RCVBADFLAGS, "tcp.rcvbadflags") /* ours */                     \
	D(TCP_RCVBCAST, "tcp.rcvbcast")       /* ours */                     \
	D(TCP_RCVMEMDROP, "tcp.rcvmemdrop")                                  \
	C(TCP_RCVDUPPACK, "tcp.rcvduppack")                                  \
	C(TCP_RCVDUPBYTE, "tcp.rcvdupbyte")                                  \
	C(TCP_RCVPARTDUPPACK, "tcp.rcvpartduppack")                          \
	C(TCP_RCVPARTDUPBYTE, "tcp.rcvpartdupbyte")                          \
	C(TCP_RCVOOPACK, "tcp.rcvoopack")                                    \
	C(TCP_RCVOOBYTE, "tcp.rcvoobyte")                                    \
	D(TCP_RCVPACKAFTERWIN, "tcp.rcvpackafterwin")                        \
	C(TCP_RCVBYTEAFTERWIN, "tcp.rcvbyteafterwin")                        \
	D(TCP_RCVAFTERCLOSE, "tcp.rcvafterclose")                            \
	D(TCP_RCVWINPROBE, "tcp.rcvwinprobe")                                \
	C(TCP_RCVDUPACK, "tcp.rcvdupack")                                    \
	D(TCP_RCVACKTOOMUCH, "tcp.rcvacktoomuch")                            \
	D(TCP_RCVACKTOOOLD, "tcp.rcvacktooold")                              \
	C(TCP_RCVACKPACK, "tcp.rcvackpack")                                  \
	C(TCP_RCVACKBYTE, "tcp.rcvackbyte")                                  \
	C(TCP_RCVWINUPD, "tcp.rcvwinupd")                                    \
	D(TCP_RCVBADRST, "tcp.rcvbadrst")     /* ours */                     \
	D(TCP_RCVBADACK, "tcp.rcvbadack")     /* ours */                     \
	D(TCP_RCVNOACK, "tcp.rcvnoack")       /* ours */                     \
	D(TCP_RCVSYNINWIN, "tcp.rcvsyninwin") /* ours */                     \
	D(TCP_PAWSDROP, "tcp.pawsdrop")                                      \
	D(TCP_NOPORT, "tcp.noport")                                          \
	D(TCP_RCVNOSEC, "tcp.rcvnosec")                                      \
	D(TCP_BADSYN, "tcp.badsyn")                                          \
	D(TCP_DROPSYN, "tcp.dropsyn")                                        \
	C(TCP_CWR_FRECOVERY, "tcp.cwr_frecovery")                            \
	C(TCP_CWR_TIMEOUT, "tcp.cwr_timeout")                                \
	C(TCP_SACK_RECOVERY_EPISODE, "tcp.sack_recovery_episode")            \
	C(TCP_SACK_REXMITS, "tcp.sack_rexmits")                              \
	C(TCP_SACK_REXMIT_BYTES, "tcp.sack_rexmit_bytes")                    \
	C(TCP_SACK_RCV_OPTS, "tcp.sack_rcv_opts")                            \
	C(TCP_SACK_SND_OPTS, "tcp.sack_snd_opts")                            \
	C(TCP_SACK_DROP_OPTS, "tcp.sack_drop_opts")                          \
	C(TCP_TWREUSE, "tcp.twreuse") /* ours */                             \
	/* IPsec, all protocols (struct ipsecstat) */                        \
	C(IPSEC_IPACKETS, "ipsec.ipackets")                                  \
	C(IPSEC_OPACKETS, "ipsec.opackets")                                  \
	C(IPSEC_IBYTES, "ipsec.ibytes")                                      \
	C(IPSEC_OBYTES, "ipsec.obytes")                                      \
	C(IPSEC_IDROPS, "ipsec.idrops")                                      \
	C(IPSEC_ODROPS, "ipsec.odrops")                                      \
	C(IPSEC_TUNNELS, "ipsec.tunnels")                                    \
	C(IPSEC_EXCTDB, "ipsec.exctdb")                                      \
	D(IPSEC_EXPIRED, "ipsec.expired")     /* ours */                     \
	D(IPSEC_NOSA, "ipsec.nosa")           /* ours */                     \
	C(IPSEC_ACQUIRES, "ipsec.acquires")   /* ours */                     \
	D(IPSEC_ACQUIRING, "ipsec.acquiring") /* ours */                     \
	D(IPSEC_DENY, "ipsec.deny")           /* ours */                     \
	D(IPSEC_INPOLICY, "ipsec.inpolicy")   /* ours */                     \
	D(IPSEC_DISABLED, "ipsec.disabled")   /* ours */                     \
	D(IPSEC_NOXFORM, "ipsec.noxform")                                    \
	/* ESP (struct espstat) */                                           \
	D(ESP_HDROPS, "esp.hdrops")                                          \
	D(ESP_NOTDB, "esp.notdb")                                            \
	D(ESP_NOXFORM, "esp.noxform")                                        \
	D(ESP_BADILEN, "esp.badilen")                                        \
	D(ESP_WRAP, "esp.wrap")                                              \
	D(ESP_BADENC, "esp.badenc")                                          \
	D(ESP_BADAUTH, "esp.badauth")                                        \
	D(ESP_REPLAY, "esp.replay")                                          \
	C(ESP_INPUT, "esp.input")                                            \
	C(ESP_OUTPUT, "esp.output")                                          \
	D(ESP_INVALID, "esp.invalid")                                        \
	C(ESP_IBYTES, "esp.ibytes")                                          \
	C(ESP_OBYTES, "esp.obytes")                                          \
	D(ESP_TOOBIG, "esp.toobig")                                          \
	D(ESP_CRYPTO, "esp.crypto")                                          \
	D(ESP_DUMMY, "esp.dummy") /* ours: next header 59 */                 \
	C(ESP_UDPENCIN, "esp.udpencin")                                      \
	C(ESP_UDPENCOUT, "esp.udpencout")                                    \
	D(ESP_UDPINVAL, "esp.udpinval")                                      \
	D(ESP_UDPNEEDED, "esp.udpneeded")                                    \
	D(ESP_NOUDPENCAP, "esp.noudpencap")       /* ours: encap is off */   \
	D(ESP_UDPKEEPALIVE, "esp.udpkeepalive")   /* ours: consumed */       \
	C(ESP_UDPKEEPALIVEOUT, "esp.udpkeepaliveout") /* ours */             \
	C(ESP_UDPFLOAT, "esp.udpfloat") /* ours: a peer's port followed */   \
	/* IPComp (struct ipcompstat) */                                     \
	D(IPCOMP_HDROPS, "ipcomp.hdrops")                                    \
	D(IPCOMP_NOTDB, "ipcomp.notdb")                                      \
	D(IPCOMP_NOXFORM, "ipcomp.noxform")                                  \
	C(IPCOMP_INPUT, "ipcomp.input")                                      \
	C(IPCOMP_OUTPUT, "ipcomp.output")                                    \
	D(IPCOMP_INVALID, "ipcomp.invalid")                                  \
	C(IPCOMP_IBYTES, "ipcomp.ibytes")                                    \
	C(IPCOMP_OBYTES, "ipcomp.obytes")                                    \
	D(IPCOMP_TOOBIG, "ipcomp.toobig")                                    \
	D(IPCOMP_PDROPS, "ipcomp.pdrops")                                    \
	D(IPCOMP_CRYPTO, "ipcomp.crypto")                                    \
	C(IPCOMP_MINLEN, "ipcomp.minlen")                                    \
	C(IPCOMP_OUTFAIL, "ipcomp.outfail")                                  \
	/* AH (struct ahstat) */                                             \
	D(AH_HDROPS, "ah.hdrops")                                            \
	D(AH_NOTDB, "ah.notdb")                                              \
	D(AH_NOXFORM, "ah.noxform")                                          \
	D(AH_BADAUTH, "ah.badauth")                                          \
	D(AH_BADAUTHL, "ah.badauthl")                                        \
	D(AH_WRAP, "ah.wrap")                                                \
	D(AH_REPLAY, "ah.replay")                                            \
	C(AH_INPUT, "ah.input")                                              \
	C(AH_OUTPUT, "ah.output")                                            \
	D(AH_INVALID, "ah.invalid")                                          \
	C(AH_IBYTES, "ah.ibytes")                                            \
	C(AH_OBYTES, "ah.obytes")                                            \
	D(AH_TOOBIG, "ah.toobig")                                            \
	D(AH_CRYPTO, "ah.crypto")                                            \
	/* IP-in-IP (struct ipipstat) */                                     \
	C(IPIP_IPACKETS, "ipip.ipackets")                                    \
	C(IPIP_OPACKETS, "ipip.opackets")                                    \
	D(IPIP_HDROPS, "ipip.hdrops")                                        \
	C(IPIP_IBYTES, "ipip.ibytes")                                        \
	C(IPIP_OBYTES, "ipip.obytes")                                        \
	D(IPIP_PDROPS, "ipip.pdrops")                                        \
	D(IPIP_SPOOF, "ipip.spoof")                                          \
	D(IPIP_UNSPEC, "ipip.unspec")                                        \
	D(IPIP_FAMILY, "ipip.family")                                        \
	/* EtherIP (struct etheripstat) */                                   \
	C(ETHERIP_IPACKETS, "etherip.ipackets")                              \
	C(ETHERIP_OPACKETS, "etherip.opackets")                              \
	C(ETHERIP_IBYTES, "etherip.ibytes")                                  \
	C(ETHERIP_OBYTES, "etherip.obytes")                                  \
	D(ETHERIP_HDROPS, "etherip.hdrops")                                  \
	D(ETHERIP_NOIFDROPS, "etherip.noifdrops")                            \
	/* bridge(4) (ours: OpenBSD counts per interface) */                 \
	C(BRIDGE_IPACKETS, "bridge.ipackets")                                \
	C(BRIDGE_OPACKETS, "bridge.opackets")                                \
	C(BRIDGE_FLOODED, "bridge.flooded")                                  \
	C(BRIDGE_IPSEC, "bridge.ipsec")                                      \
	C(BRIDGE_REBRIDGED, "bridge.rebridged")                              \
	C(BRIDGE_TABLEFULL, "bridge.tablefull")                              \
	D(BRIDGE_SAMEPORT, "bridge.sameport")                                \
	D(BRIDGE_RESERVED, "bridge.reserved")                                \
	D(BRIDGE_NOMAC, "bridge.nomac")                                      \
	/* enc0 (ours: OpenBSD keeps them as interface counters) */          \
	C(ENC_IPACKETS, "enc.ipackets")                                      \
	C(ENC_OPACKETS, "enc.opackets")                                      \
	C(ENC_IBYTES, "enc.ibytes")                                          \
	C(ENC_OBYTES, "enc.obytes")                                          \
	/* pf (pfctl -si's names; block, logged and the state ones ours) */  \
	C(PF_MATCH, "pf.match")                                              \
	D(PF_BLOCK, "pf.block") /* ours: refused by a block rule */          \
	D(PF_FRAGMENT, "pf.fragment")                                        \
	D(PF_SHORT, "pf.short")                                              \
	D(PF_MEMORY, "pf.memory")                                            \
	D(PF_STATE_MISMATCH, "pf.state-mismatch")                            \
	D(PF_STATE_INSERT, "pf.state-insert")                                \
	D(PF_TRANSLATE, "pf.translate")                                      \
	C(PF_SEARCHES, "pf.searches")                                        \
	C(PF_INSERTS, "pf.inserts")                                          \
	C(PF_REMOVALS, "pf.removals")                                        \
	C(PF_LOGGED, "pf.logged") /* ours: packets written to pflog0 */

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
