set terminal pngcairo size 900,540 font 'DejaVu Sans,11' noenhanced
set output 'throughput.png'
set title 'Full logins (authorize, login, code, token, userinfo) per second'
set xlabel 'concurrent virtual clients'
set ylabel 'logins/s (median; bars: min-max over rounds)'
set logscale x 2
set xtics ('1' 1, '8' 8, '32' 32)
set xrange [0.666667:48]
set yrange [0:*]
set grid
set key left center opaque box
plot 1661.5 with lines dt 2 lw 1 lc rgb 'gray40' title 'RS256 ceiling (median of 4): sign/s (server CPUs: 1) / 2', 'throughput.dat' using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'porten', 'throughput.dat' using 1:5:6:7 with yerrorlines lw 2 pt 7 title 'oidc-provider', 'throughput.dat' using 1:8:9:10 with yerrorlines lw 2 pt 7 title 'glewlwyd', 'throughput.dat' using 1:11:12:13 with yerrorlines lw 2 pt 7 title 'porten-pg', 'throughput.dat' using 1:14:15:16 with yerrorlines lw 2 pt 7 title 'porten-3'
